"""The gate in the merge flow (issue "The gate in the merge flow"): a GitHub merge queue's group
commit gets the pass of its pull request's own head, without a model; a retarget on Forgejo puts
`pending` on the head first; `gate-status` tells "not decided yet" from "decided, not passing"."""

from __future__ import annotations

import json
import time

import pytest
from fake_github import FakeGitHub
from test_canary import CONTEXT, HEAD, canary, forgejo  # noqa: F401 - the fixture
from test_cli import BLOCKER, serve, write_config

from reviewgate.cli import main
from reviewgate.testing import verdict_json

GROUP = "9" * 40


@pytest.fixture
def github(monkeypatch):
    from conftest import DATA
    diff = (DATA / "requests-6667-ssl-context" / "diff.patch").read_text()
    fake = FakeGitHub(diff, HEAD, [{"filename": "src/requests/adapters.py",
                                    "status": "modified", "additions": 28, "deletions": 18}])
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_actions_token_123456")
    monkeypatch.delenv("REVIEWGATE_FORGE_TOKEN", raising=False)
    yield fake
    fake.close()
    assert fake.problems == []


def gh_config(tmp_path, url) -> str:
    config = write_config(tmp_path, url)
    with open(config, "a") as fh:
        fh.write('[gate]\nbot_login = "github-actions[bot]"\n')
    return config


def queue_event(tmp_path, pr_head: str, *, base: str = "main", number: int = 7) -> str:
    path = tmp_path / "merge_group.json"
    path.write_text(json.dumps({"action": "checks_requested", "merge_group": {
        "head_sha": GROUP, "head_ref": f"refs/heads/gh-readonly-queue/{base}/pr-{number}-"
                                       f"{pr_head}",
        "base_sha": "c" * 40, "base_ref": f"refs/heads/{base}",
        "head_commit": {"id": GROUP, "message": "Merge pull request #7"}}}))
    return str(path)


def run_queue(fake, config, event, monkeypatch, pr: str = "") -> tuple[int, float]:
    monkeypatch.setenv("GITHUB_EVENT_NAME", "merge_group")
    started = time.monotonic()
    code = main(["canary", "--forge", "github", "--url", fake.url, "--repo", "owner/repo",
                 "--config", config, "--event", event, "--pr", pr])
    return code, time.monotonic() - started


def group_rows(fake):
    return [s for s in fake.statuses if s["sha"] == GROUP]


def review(fake, config):
    return main(["canary", "--forge", "github", "--url", fake.url, "--repo", "owner/repo",
                 "--pr", "7", "--config", config])


@pytest.mark.parametrize("base", ["main", "release/2.x"])
def test_a_passed_pull_request_passes_its_merge_group(github, loopback, tmp_path, monkeypatch,
                                                     base):
    """Pull request 7 passed on head H; the queue's group `gh-readonly-queue/<base>/pr-7-H`
    gets `success` on the group's head SHA, with no model request, in under 2 s."""
    config = gh_config(tmp_path, loopback.url)
    serve(loopback, {})
    assert review(github, config) == 0
    github.base_ref = base
    calls = len(loopback.seen)
    code, took = run_queue(github, config, queue_event(tmp_path, HEAD, base=base), monkeypatch)
    assert code == 0 and took < 2.0
    [row] = group_rows(github)
    assert row["state"] == "success" and row["context"] == CONTEXT
    assert row["description"].startswith("merge queue: passed on #7's head aaaaaaaaaaaa")
    assert len(loopback.seen) == calls


def test_a_group_naming_another_head_fails(github, loopback, tmp_path, monkeypatch):
    """The group was built from a head the gate never reviewed (the pull request moved on, or
    the ref names another commit): `failure` with that reason."""
    config = gh_config(tmp_path, loopback.url)
    serve(loopback, {})
    assert review(github, config) == 0
    code, took = run_queue(github, config, queue_event(tmp_path, "e" * 40), monkeypatch)
    assert code == 10 and took < 2.0
    [row] = group_rows(github)
    assert row["state"] == "failure" and "head moved" in row["description"]


def test_a_never_reviewed_or_deferred_pull_request_fails_its_group(github, loopback, tmp_path,
                                                                   monkeypatch):
    """No pass of the gate on the pull request's head: `failure` (never reviewed); a deferred
    pull request: `failure` (defer). No model request either time."""
    config = gh_config(tmp_path, loopback.url)
    code, _ = run_queue(github, config, queue_event(tmp_path, HEAD), monkeypatch)
    assert code == 10 and "was never reviewed" in group_rows(github)[-1]["description"]
    serve(loopback, {("a", "tech"): verdict_json("NOT_OK", risks=[BLOCKER])})
    assert review(github, config) == 10
    calls = len(loopback.seen)
    code, _ = run_queue(github, config, queue_event(tmp_path, HEAD), monkeypatch)
    assert code == 10 and group_rows(github)[-1]["description"].endswith("defer")
    assert len(loopback.seen) == calls


@pytest.mark.parametrize("ref", ["refs/heads/gh-readonly-queue/main/pr-7-" + "a" * 39,
                                 "refs/heads/other/main/pr-7-" + "a" * 40,
                                 "refs/heads/gh-readonly-queue/dev/pr-7-" + "a" * 40])
def test_a_malformed_queue_ref_posts_nothing(github, loopback, tmp_path, monkeypatch, ref):
    """A ref that is not a queue branch of the event's base: a usage error, no status."""
    config = gh_config(tmp_path, loopback.url)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"merge_group": {"head_sha": GROUP, "head_ref": ref,
                                                "base_ref": "refs/heads/main"}}))
    code, _ = run_queue(github, config, str(path), monkeypatch)
    assert code == 2 and group_rows(github) == []


def test_a_retarget_posts_pending_on_the_head_first(forgejo, loopback, tmp_path,  # noqa: F811
                                                    monkeypatch):
    """After a retarget (a new merge base), the run the base change fires puts `pending` on
    the head before anything else it writes, and keeps it there until the gate decides again:
    a forge's "merge when checks succeed" never sees the old pass as the latest row."""
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    assert canary(forgejo, config) == 0
    forgejo.prs[7].merge_base = "d" * 40
    event = tmp_path / "edited.json"
    event.write_text(json.dumps({"action": "edited", "number": 7,
                                 "changes": {"ref": {"from": "main"}},
                                 "pull_request": {"number": 7}}))
    forgejo.log.clear()
    assert canary(forgejo, config, "--event", str(event)) == 0
    writes = [(m, p) for m, p in forgejo.log if m in ("POST", "PATCH", "DELETE")]
    assert writes[0][1].endswith(f"/statuses/{HEAD}")
    first_get = next(i for i, (m, p) in enumerate(forgejo.log) if m == "GET")
    assert forgejo.log[first_get][1].endswith("/pulls/7")  # only the pull request read before
    assert forgejo.log[first_get + 1] == writes[0]
    states = [r["status"] for r in forgejo.status_rows(HEAD)]
    # round 1; then the retarget's pending, the run's own claim, the new decision
    assert states == ["pending", "success", "pending", "pending", "success"]
    assert "base dddddddddddd" in forgejo.status_rows(HEAD)[-1]["description"]


def test_a_retarget_run_that_fails_early_leaves_error_not_pending(forgejo, loopback,  # noqa: F811
                                                                   tmp_path, monkeypatch):
    """The retarget's `pending` comes before the run's own claim; a failure in between (here
    `GET /user` answering 502) must still end in `error` (attack round 4: `pending` stayed)."""
    from reviewgate.core.errors import ForgeError
    from reviewgate.gate import run

    config = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    event = tmp_path / "edited.json"
    event.write_text(json.dumps({"action": "edited", "number": 7,
                                 "changes": {"ref": {"from": "main"}},
                                 "pull_request": {"number": 7}}))

    def down(forge):
        raise ForgeError("GET /user: HTTP 502", status_code=502)
    monkeypatch.setattr(run, "known_login", down)
    assert canary(forgejo, config, "--event", str(event)) == 12
    latest = forgejo.status_rows(HEAD)[-1]
    assert latest["status"] == "error" and "HTTP 502" in latest["description"]
    assert loopback.requests_to("/v1/chat/completions") == []
