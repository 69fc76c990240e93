"""Inline review comments, rounds across pushes and ``comments = "single"`` (issue 8), against
the fake Forgejo (validated against the official OpenAPI document) and the fake GitHub."""

from __future__ import annotations

import pytest
from conftest import DATA
from fake_github import FakeGitHub
from test_canary import HEAD, canary
from test_canary import forgejo  # noqa: F401 - the base fixture, extended below
from test_cli import serve
from test_cli import write_config as _write_config

from reviewgate.cli import main
from reviewgate.testing import verdict_json

NEW_HEAD = "c" * 40
PATH = "src/requests/adapters.py"
# line 298 is on the new side of the last hunk (+295,26); line 10 is on no hunk

def write_config(tmp_path, url):
    """The test configuration, deciding as before the agreement rule: these tests are about
    where findings are posted, and two seats agreeing on HIGH would otherwise defer."""
    path = _write_config(tmp_path, url)
    with open(path, "a") as fh:
        fh.write('[profiles.canary.policy]\ndefer_on_corroborated = "blocker"\n')
    return path


HIGH = {"severity": "high", "title": "verify=True no longer loads the CA bundle",
        "location": f"{PATH}:298", "detail": "cert_verify skips DEFAULT_CA_BUNDLE_PATH when "
        "verify is True, so custom adapters lose the bundle.",
        "recommendation": "Load the default bundle in the default SSL context."}
HIGH_B = {**HIGH, "title": "CA bundle not loaded when verify is True",
          "location": f"{PATH}:299"}
LOW = {"severity": "low", "title": "Module docstring typo", "location": f"{PATH}:10",
       "detail": "'recieve' in the module docstring.", "recommendation": "Fix the typo."}
MEDIUM = {"severity": "medium", "title": "Proxy manager ignores the shared SSL context",
          "location": f"{PATH}:300", "detail": "proxy_manager_for builds pools without "
          "the preloaded context.", "recommendation": "Pass ssl_context to proxy pools."}


def _answers(*risks_by_seat):
    return {(seat, hat): verdict_json("OK", risks=list(risks))
            for seat, risks in zip("abc", risks_by_seat, strict=False)
            for hat in ("tech", "product")}


@pytest.fixture
def fake(forgejo):  # noqa: F811 - pytest passes test_canary's fixture
    """test_canary's fake Forgejo (pull request #7, psf/requests#6667) with the head file."""
    text = (DATA / "requests-6667-ssl-context" / "head" / "adapters.py").read_text()
    forgejo.trees[HEAD] = forgejo.trees[NEW_HEAD] = {PATH: text}
    return forgejo


def decision_body(fake):
    return next(c["body"] for c in fake.pr_comments(7) if "reviewgate:decision" in c["body"])


def test_findings_on_diff_lines_become_one_comment_review(fake, loopback, tmp_path):
    """A corroborated finding on a diff line is one line comment (new_position) with both
    raisers; a finding off the diff stays in the decision comment, marked so; a re-run leaves
    exactly one review of the bot."""
    config = write_config(tmp_path, loopback.url)
    serve(loopback, _answers([HIGH], [HIGH_B], [LOW]))
    assert canary(fake, config) == 0
    reviews = fake.pr_reviews(7)
    assert len(reviews) == 1
    review = reviews[0]
    assert review["state"] == "COMMENT" and review["commit_id"] == HEAD
    assert review["user"] == "reviewbot" and "<!-- reviewgate:review -->" in review["body"]
    [comment] = review["comments"]
    assert comment["path"] == PATH and comment["new_position"] == 298
    assert comment["old_position"] == 0
    assert "**`high`**" in comment["body"] and "corroborated by 2 seats" in comment["body"]
    assert "tech-a" in comment["body"] and "tech-b" in comment["body"]
    assert "*Recommendation:*\n\nLoad the default bundle" in comment["body"]
    body = decision_body(fake)
    assert "CA bundle" in body and "· 💬 on a diff line" in body
    assert "**Module docstring typo** (`src/requests/adapters.py:10`)" in body
    assert "· not on a diff line" in body
    assert canary(fake, config, "--force") == 0
    reviews = fake.pr_reviews(7)
    assert len(reviews) == 1 and reviews[0]["id"] != review["id"]


def test_a_push_shows_resolved_new_and_still_open(fake, loopback, tmp_path):
    """On a new head the decision comment compares with the previous round."""
    config = write_config(tmp_path, loopback.url)
    serve(loopback, _answers([HIGH], [HIGH_B], [LOW]))
    assert canary(fake, config) == 0
    fake.prs[7].move_head(NEW_HEAD)
    serve(loopback, _answers([MEDIUM], [], [LOW]))
    # the fake's diff did not change, so the verdict cache would answer: ask the models again
    assert canary(fake, config, "--force") == 0
    body = decision_body(fake)
    section = body[body.index("### Since the previous round (`aaaaaaaaaaaa`)"):]
    section = section[:section.index("###", 5)]
    assert "| resolved | 1<br>`high` verify=True no longer loads the CA bundle |" in section
    assert "| new | 1<br>`medium` Proxy manager ignores the shared SSL context |" in section
    assert "| still open | 1<br>`low` Module docstring typo |" in section
    assert "Tallies then: Tech: 3/3 OK · Product: 3/3 OK · now:" in section
    reviews = fake.pr_reviews(7)
    assert len(reviews) == 1 and reviews[0]["commit_id"] == NEW_HEAD


def test_inline_off_and_single_comment(fake, loopback, tmp_path):
    """``inline = false`` posts no review; ``comments = "single"`` posts only the decision
    comment, each seat's section collapsed in it."""
    config = write_config(tmp_path, loopback.url)
    with open(config, "a") as fh:
        fh.write('[gate]\ncomments = "single"\ninline = false\n')
    serve(loopback, _answers([HIGH], [HIGH_B], [LOW]))
    assert canary(fake, config) == 0
    assert fake.pr_reviews(7) == []
    ours = [c for c in fake.pr_comments(7) if c["user"] == "reviewbot"]
    assert len(ours) == 1 and "reviewgate:seat:" not in ours[0]["body"]
    body = ours[0]["body"]
    assert all(f"<details><summary>Seat <code>{s}</code></summary>" in body for s in "abc")
    assert "on a diff line" not in body


def test_github_review_uses_line_and_side_and_retires_the_old_one(loopback, tmp_path,
                                                                  monkeypatch):
    """GitHub: ``line`` + ``side: RIGHT``; a submitted review cannot be deleted, so the earlier
    one is rewritten as outdated and its line comments deleted."""
    diff = (DATA / "requests-6667-ssl-context" / "diff.patch").read_text()
    fake = FakeGitHub(diff, "e" * 40, [{"filename": PATH, "status": "modified",
                                        "additions": 28, "deletions": 18}])
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_actions_token_123456")
    try:
        config = write_config(tmp_path, loopback.url)
        serve(loopback, _answers([HIGH], [HIGH_B], [LOW]))
        run = ["canary", "--forge", "github", "--url", fake.url, "--repo", "owner/repo",
               "--pr", "7", "--config", config]
        assert main(run) == 0
        [review] = fake.reviews
        [comment] = review["comments"]
        assert (comment["path"], comment["line"], comment["side"]) == (PATH, 298, "RIGHT")
        assert main([*run, "--force"]) == 0
        first, second = fake.reviews
        assert first["comments"] == [] and "Outdated" in first["body"]
        assert "reviewgate:review-retired" in first["body"]
        assert len(second["comments"]) == 1 and "retired" not in second["body"]
    finally:
        fake.close()
    assert fake.problems == []


def test_a_refused_review_leaves_the_gate_and_comments_intact(fake, loopback, tmp_path, capsys):
    """The forge refuses the review (422): the decision comment and the status are still
    posted, the run says why the line comments are missing, and no review is left behind."""
    # the fake now rejects PATH's lines (a mode-only change, so nothing goes unreviewed)
    fake.prs[7].files = [{"filename": "src/other.py", "status": "modified", "additions": 0,
                          "deletions": 0, "changes": 0}]
    fake.prs[7].diff += ("diff --git a/src/other.py b/src/other.py\nold mode 100644\n"
                         "new mode 100755\n")
    config = write_config(tmp_path, loopback.url)
    serve(loopback, _answers([HIGH], [HIGH_B], [LOW]))
    assert canary(fake, config) == 0
    assert [r["status"] for r in fake.status_rows(HEAD)] == ["pending", "success"]
    assert "· 💬 on a diff line" in decision_body(fake)
    assert fake.pr_reviews(7) == []
    assert "line comments not posted" in capsys.readouterr().err
