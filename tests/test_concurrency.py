"""Two canary runs on one pull request at once (an operator's CLI run beside the CI job), as two
real processes against the forge double: no duplicate comment, no lost round, a final status."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from loopback import Reply
from test_canary import HEAD, canary, forgejo, ours  # noqa: F401 - the fixture
from test_cli import serve, write_config
from test_providers_wire import openai_body

from reviewgate.gate import read_rounds
from reviewgate.testing import verdict_json

ROOT = Path(__file__).parent.parent


def start(fake, config: str) -> subprocess.Popen:
    env = {**os.environ, "REVIEWGATE_FORGE_TOKEN": "bot-token",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-m", "reviewgate.cli", "canary", "--forge", "forgejo", "--url",
         fake.url, "--repo", "owner/repo", "--pr", "7", "--config", config, "--force"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("trial", range(3))
def test_two_concurrent_runs_publish_once(forgejo, loopback, tmp_path, trial):  # noqa: F811
    """Both runs claim the pull request; the later claim publishes, the earlier publishes
    nothing and says so. Comments stay one per marker and the earlier round is kept."""
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    assert canary(forgejo, config) == 0  # an earlier round
    loopback.route("POST", "/v1/chat/completions",
                   lambda seen: Reply(200, openai_body(verdict_json()), delay=1.0))
    first = start(forgejo, config)
    time.sleep(0.1 * trial)
    second = start(forgejo, config)
    outs = [p.communicate(timeout=60) for p in (first, second)]
    codes = [p.returncode for p in (first, second)]
    assert codes == [0, 0], outs
    superseded = sum("SUPERSEDED=" in out for out, _ in outs)
    published = 2 - superseded
    assert superseded <= 1
    mine = ours(forgejo)
    markers = [c["body"].split("-->", 1)[0] for c in mine]
    assert len(mine) == 4 and len(set(markers)) == 4, markers
    [decision] = [c for c in mine if "reviewgate:decision" in c["body"]]
    rounds = read_rounds(decision["body"])
    assert len(rounds) == 1 + published
    assert forgejo.status_rows(HEAD)[-1]["status"] == "success"


def test_a_superseded_run_leaves_no_round_behind(forgejo, loopback, tmp_path,  # noqa: F811
                                                 monkeypatch):
    """Run A passes its first claim check; run B claims later and publishes completely; A then
    writes its comments, finds itself superseded and puts back what it overwrote: the history
    holds the earlier round and B's, never A's, and B's status is the last."""
    import reviewgate.gate.run as canary_module
    from reviewgate.gate.run import run_canary
    from reviewgate.core.config import load_config
    from reviewgate.forge import make_forge

    config_path = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    assert canary(forgejo, config_path) == 0  # an earlier round
    config = load_config(config_path)
    real_render_seat = canary_module.render_seat
    state = {"b_ran": False}

    def render_seat(record, seat, prompter=None, **kwargs):
        if not state["b_ran"]:  # A is between its first claim check and its writes
            state["b_ran"] = True
            b = make_forge("forgejo", url=forgejo.url, repo="owner/repo", token="bot-token")
            result = run_canary(b, number=7, config=config, fired_by="run-b", force=True)
            assert result.state == "success"
        return real_render_seat(record, seat, prompter, **kwargs)

    monkeypatch.setattr(canary_module, "render_seat", render_seat)
    a = make_forge("forgejo", url=forgejo.url, repo="owner/repo", token="bot-token")
    result = run_canary(a, number=7, config=config, fired_by="run-a", force=True)
    assert result.state == "superseded"
    [decision] = [c for c in ours(forgejo) if "reviewgate:decision" in c["body"]]
    assert [r.fired_by for r in read_rounds(decision["body"])] == ["ci", "run-b"]
    assert len(ours(forgejo)) == 4
    assert forgejo.status_rows(HEAD)[-1]["status"] == "success"
