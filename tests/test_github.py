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
                                    "additions": 1, "deletions": 0,
                                    "patch": f"@@ -0,0 +1 @@\n+page {i}"} for i in range(119)]
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
    status = ["gate-status", "--forge", "github", "--url", github.url, "--repo", "owner/repo",
              "--pr", "7"]
    assert main(status) == 12  # GET /user is refused: the gate never guesses whom to trust
    assert "set REVIEWGATE_BOT_LOGIN or [gate] bot_login" in capsys.readouterr().err
    assert main([*status, "--bot-login", "github-actions[bot]"]) == 0
    assert capsys.readouterr().out.startswith(f"GATE=merge\nSHA={HEAD}\n")


# --- GitHub as a first-class forge (App tokens, > 300 files, overrides, refusals) -------------

import json  # noqa: E402


def test_app_installation_token_publishes_as_its_own_app(github, loopback, tmp_path, capsys):
    """An App installation token cannot read GET /user: the gate learns its login from its own
    pending claim, publishes (not "superseded"), and a second run finds its comments and
    decision instead of adding pending rows."""
    github.actor = "gate-app[bot]"
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    assert run(github, config) == 0
    out = capsys.readouterr().out
    assert "SUPERSEDED" not in out and "GATE=merge" in out
    assert [s["state"] for s in github.statuses] == ["pending", "success"]
    assert all(s["creator"]["login"] == "gate-app[bot]" for s in github.statuses)
    assert run(github, config) == 0  # already decided: the decision is put back on top
    assert [s["state"] for s in github.statuses][-1] == "success"
    assert len([c for c in github.comments if c["user"]["login"] == "gate-app[bot]"]) == 4
    assert run(github, config, "--force") == 0
    assert len([c for c in github.comments if c["user"]["login"] == "gate-app[bot]"]) == 4
    assert [s["state"] for s in github.statuses][-1] == "success"


def test_a_pull_request_over_300_files_is_reviewed_from_the_files_api(github, loopback,
                                                                       tmp_path, capsys):
    """The diff media type answers 406 past 300 files; the change set is rebuilt from the
    files API's patches, so the gate reaches its split rule instead of `error`; a file
    without a patch counts as not reviewed."""
    github.files = [{"filename": f"src/m{i}.py", "status": "added", "additions": 1,
                     "deletions": 0, "patch": f"@@ -0,0 +1 @@\n+value_{i} = {i}"}
                    for i in range(320)]
    github.files.append({"filename": "data/huge.csv", "status": "modified", "additions": 9000,
                         "deletions": 10})
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {("a", "tech"): verdict_json("NOT_OK", risks=[BLOCKER])})
    out = tmp_path / "decision.json"
    assert run(github, config, "--out", str(out)) == 11  # split: oversized
    record = json.loads(out.read_text())
    assert record["decision"]["decision"] == "split"
    assert record["input"]["changed_files"] == 321
    assert record["decision"]["unreviewed"] >= 1
    assert [s["state"] for s in github.statuses] == ["pending", "failure"]
    prompt = loopback.seen[0].body["messages"][1]["content"]
    assert "+value_0 = 0" in prompt


def _comment_event(tmp_path, user: str, body: str) -> str:
    path = tmp_path / f"event-{user}.json"
    path.write_text(json.dumps({"action": "created", "comment": {
        "body": body, "user": {"login": user}, "created_at": "2026-11-01T00:00:00Z"},
        "issue": {"number": 7, "pull_request": {"url": "u"}}}))
    return str(path)


def test_repeated_read_only_canary_gets_one_refusal(github, loopback, tmp_path):
    """A read-only user's /canary, ten times: one refusal comment, no status, no model call."""
    config = write_config(tmp_path, loopback.url)
    args = ["command", "--forge", "github", "--url", github.url, "--repo", "owner/repo",
            "--config", config, "--bot-login", "github-actions[bot]"]
    for _ in range(10):
        assert main([*args, "--event", _comment_event(tmp_path, "stranger", "/canary")]) == 0
    ours = [c for c in github.comments if c["user"]["login"] == "github-actions[bot]"]
    assert len(ours) == 1 and "write access" in ours[0]["body"]
    assert github.statuses == [] and loopback.seen == []


def test_failed_override_on_github_announces_nothing(github, loopback, tmp_path):
    """When every status POST fails, a maintainer's override exits 12 and leaves the decision
    comment as it was (no "Override by", no override round)."""
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {("a", "tech"): verdict_json("NOT_OK", risks=[BLOCKER])})
    assert run(github, config) == 11  # 120 files: oversized, so the defer splits
    before = [dict(c) for c in github.comments]
    github.fail_status_posts = 99
    args = ["command", "--forge", "github", "--url", github.url, "--repo", "owner/repo",
            "--config", config, "--bot-login", "github-actions[bot]", "--event",
            _comment_event(tmp_path, "maintainer",
                           f"/canary override --sha {HEAD} reviewed by hand")]
    assert main(args) == 12
    assert github.comments == before
    assert not any("Override by" in c["body"] for c in github.comments)
