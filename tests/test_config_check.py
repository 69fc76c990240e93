"""`config check` tells the truth: what a review would do and what would stop it (exit 2), and
errors name what to fix."""

from __future__ import annotations

import importlib.util
import subprocess

import pytest
from test_providers_wire import make_seat, run_one

from reviewgate.cli import main
from reviewgate.core.config import DEFAULT_ENDPOINT, load_config
from reviewgate.core.errors import ConfigError


def write(tmp_path, text: str) -> str:
    path = tmp_path / "reviewgate.toml"
    path.write_text(text)
    return str(path)


def test_ollama_cloud_needs_its_key(tmp_path, capsys):
    """An Ollama Cloud seat is not "none needed": OLLAMA_API_KEY is named and missing, exit 2."""
    cfg = write(tmp_path, '[[profiles.p.seats]]\nname = "glm"\nprovider = "ollama"\n'
                          'model = "glm-4.6:cloud"\n')
    assert main(["config", "check", "--config", cfg]) == 2
    out = capsys.readouterr().out
    assert "OLLAMA_API_KEY missing" in out and "none needed" not in out
    assert "quorum 2 needs 2 voting ballots per hat, but the profile has 1 seat" in out


def test_local_seat_without_the_extra_is_a_problem(tmp_path, capsys, monkeypatch):
    """A local seat without the runtime (xllamacpp) is reported, never "ready"."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "xllamacpp" else real(name, *a))
    cfg = write(tmp_path, "".join(f'[[profiles.p.seats]]\nname = "g{i}"\nprovider = "local"\n'
                                  'model = "gemma3-270m-q4_k_m"\n' for i in range(3)))
    assert main(["config", "check", "--config", cfg]) == 2
    out = capsys.readouterr().out
    assert ("xllamacpp not installed: pip install --only-binary xllamacpp "
            "'reviewgate-ensemble[local]'") in out
    assert "ready" not in out


def test_impossible_quorum_is_an_error(tmp_path, capsys, monkeypatch):
    """quorum = 5 with three seats can never be met: exit 2 saying why."""
    monkeypatch.setenv("OPENAI_API_KEY", "k-123456")
    cfg = write(tmp_path, "".join(f'[[profiles.p.seats]]\nname = "s{i}"\nprovider = "openai"\n'
                                  'model = "m"\n' for i in range(3))
                + "[profiles.p.policy]\nquorum = 5\n")
    assert main(["config", "check", "--config", cfg]) == 2
    assert "quorum 5 needs 5 voting ballots per hat, but the profile has 3 seats" in \
        capsys.readouterr().out


def test_ready_profile_exits_0(tmp_path, capsys, monkeypatch):
    """Every key present, a reachable quorum: exit 0 and "ready"."""
    monkeypatch.setenv("OPENAI_API_KEY", "k-123456")
    cfg = write(tmp_path, "".join(f'[[profiles.p.seats]]\nname = "s{i}"\nprovider = "openai"\n'
                                  'model = "m"\n' for i in range(3)))
    assert main(["config", "check", "--config", cfg]) == 0
    out = capsys.readouterr().out
    assert "ready" in out and f"endpoint {DEFAULT_ENDPOINT['openai']}" in out


def test_typo_suggests_the_nearest_key(tmp_path):
    """A mistyped key names its path and the key meant."""
    cfg = write(tmp_path, '[[profiles.p.seats]]\nname = "s"\nprovider = "openai"\nmodel = "m"\n'
                          "timeout_sec = 30\n")
    with pytest.raises(ConfigError, match=r"profiles\.p\.seats\.0\.timeout_sec: unknown key "
                                          r"\(did you mean 'timeout_s'\?\)"):
        load_config(cfg)


def test_connection_error_names_the_url():
    """Nothing listening: the ABSTAIN reason names the endpoint it tried."""
    ballot = run_one(make_seat("openai-compatible", "http://127.0.0.1:9", max_attempts=1,
                               timeout_s=5))
    assert ballot.vote == "ABSTAIN"
    assert "cannot connect to http://127.0.0.1:9/v1" in ballot.error


def test_single_commit_repository_explains_git_range(tmp_path, monkeypatch, capsys):
    """--git HEAD~1..HEAD in a one-commit repository says how to review that commit."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (["init", "-q"], ["config", "user.email", "t@example.invalid"],
                 ["config", "user.name", "t"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    (repo / "a.py").write_text("x = 1\n")
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "first"], cwd=repo, check=True)
    monkeypatch.chdir(repo)
    assert main(["review", "--git", "HEAD~1..HEAD"]) == 2
    err = capsys.readouterr().err
    assert "single commit" in err and "git show --format= HEAD | reviewgate review --diff -" in err
