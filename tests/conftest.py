"""Shared fixtures. No test reaches the internet: providers and forges run on loopback."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from loopback import Loopback  # noqa: E402

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``-n auto --dist loadgroup``), every test that loads the embedded
    model (marker ``model``) runs in one worker, one after another: two models never share two
    cores, so a ballot's deadline measures the model, not the neighbour. The timing tests
    (marker ``timing``: ratios of timings) join that worker, so the model never runs beside
    them."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        if any(item.get_closest_marker(name) is not None for name in ("model", "timing")):
            item.add_marker(pytest.mark.xdist_group("embedded-model"))


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    """A scripted HTTP server on 127.0.0.1, closed after the test."""
    server = Loopback()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _no_real_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's real keys, and SDKs never read a real base URL."""
    for name in list(os.environ):
        if name.endswith(("_API_KEY", "_TOKEN")) or name in {"OPENAI_BASE_URL",
                                                             "ANTHROPIC_BASE_URL", "OLLAMA_HOST"}:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)


@pytest.fixture(autouse=True)
def _own_verdict_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> None:
    """Each test has an empty verdict cache of its own (never the developer's)."""
    monkeypatch.setenv("REVIEWGATE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def ssl_diff() -> str:
    """The real diff of psf/requests#6667 (1 file, +28/-18)."""
    return (DATA / "requests-6667-ssl-context" / "diff.patch").read_text()
