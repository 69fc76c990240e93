"""The gate on GitHub: the differences from Forgejo, against a stateful fake GitHub."""

from __future__ import annotations

import pytest
from conftest import DATA
from fake_github import FakeGitHub
from test_cli import BLOCKER, serve, write_config

from reviewgate.cli import main
from reviewgate.testing import verdict_json

HEAD = "e" * 40


@pytest.fixture
def github(monkeypatch):
    """A fake GitHub with pull request #7 and 120 changed-file rows (two pages of 100)."""
    diff = (DATA / "requests-6667-ssl-context" / "diff.patch").read_text()
    files = [{"filename": "src/requests/adapters.py", "status": "modified", "additions": 28,
              "deletions": 18}] + [{"filename": f"docs/page{i}.md", "status": "added",
                                    "additions": 1, "deletions": 0} for i in range(119)]
    fake = FakeGitHub(diff, HEAD, files)
    monkeypatch.delenv("REVIEWGATE_FORGE_TOKEN", raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_actions_token_123456")
    yield fake
    fake.close()
    assert fake.problems == []


def run(fake, config, *extra):
    return main(["canary", "--forge", "github", "--url", fake.url, "--repo", "owner/repo",
                 "--pr", "7", "--config", config, *extra])


def test_canary_on_github(github, loopback, tmp_path, capsys):
    """Diff via the diff media type, every files page, the Actions bot login, four states,
    labels by name; a rerun edits the bot's comments even past 100 comments."""
    for i in range(130):
        github.add_comment("alice", f"chatter {i}")
    config = write_config(tmp_path, loopback.url)
    with open(config, "a") as fh:
        fh.write('[gate.labels]\nmerge = "gate/merge"\ndefer = "gate/defer"\n')
    serve(loopback, {})
    assert run(github, config) == 0
    assert any(h.get("accept") == "application/vnd.github.diff" for _, _, h in github.log)
    files_pages = [p for _, p, _ in github.log if "/pulls/7/files" in p]
    assert len(files_pages) == 2 and "per_page=100" in files_pages[0]
    assert [s["state"] for s in github.statuses] == ["pending", "success"]
    assert github.labels == ["gate/merge"]
    bot = [c for c in github.comments if c["user"]["login"] == "github-actions[bot]"]
    assert len(bot) == 4
    # the record knows all 120 files, not only those in the diff
    serve(loopback, {("c", "tech"): verdict_json("NOT_OK", risks=[BLOCKER])})
    assert run(github, config, "--force") == 11  # 120 files: oversized, so the defer splits
    assert len([c for c in github.comments if c["user"]["login"] == "github-actions[bot]"]) == 4
    assert github.labels == []  # no split label configured; the merge label was removed
    assert "ghs_actions_token_123456" not in capsys.readouterr().out


def test_gate_status_reads_state_field(github, loopback, tmp_path, capsys):
    """On GitHub a status row's state is `state`; gate-status reads it for the head SHA."""
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    run(github, config)
    capsys.readouterr()
    assert main(["gate-status", "--forge", "github", "--url", github.url, "--repo",
                 "owner/repo", "--pr", "7"]) == 0
    assert capsys.readouterr().out.startswith(f"GATE=merge\nSHA={HEAD}\n")
