"""Forge faults: a comment POST is never blindly retried (a lost reply is found and edited),
failures end in error with earlier comments intact, every page of a huge file list is read."""

from __future__ import annotations

from test_canary import HEAD, canary, forgejo, ours  # noqa: F401 - the fixture
from test_cli import BLOCKER, serve, write_config

from reviewgate.forge import make_forge
from reviewgate.testing import verdict_json


def decision_comments(fake) -> list[dict]:
    return [c for c in ours(fake) if "reviewgate:decision" in c["body"]]


def test_lost_reply_after_the_comment_landed_is_not_posted_twice(forgejo, loopback,  # noqa: F811
                                                                 tmp_path):
    """The server creates the comment but the reply is a 500: the gate re-lists, finds it and
    does not post a duplicate."""
    serve(loopback, {})
    forgejo.comment_post_faults = ["landed-500"] * 4
    assert canary(forgejo, write_config(tmp_path, loopback.url)) == 0
    assert len(ours(forgejo)) == 4  # three seat comments and one decision comment
    assert len(decision_comments(forgejo)) == 1
    assert forgejo.status_rows(HEAD)[-1]["status"] == "success"


def test_comment_post_500_is_tried_again_after_a_relist(forgejo, loopback, tmp_path):  # noqa: F811
    """A 500 that created nothing: the comment is posted on the next try, once."""
    serve(loopback, {})
    forgejo.comment_post_faults = ["500", "500"]
    assert canary(forgejo, write_config(tmp_path, loopback.url)) == 0
    assert len(ours(forgejo)) == 4


def test_comment_posts_failing_for_good_end_in_error_keeping_earlier_comments(
        forgejo, loopback, tmp_path, capsys):  # noqa: F811
    """A comment must be created (seat c's was deleted) and every POST fails: exit 12, status
    error naming the failure; the earlier round's decision comment is still there, unchanged."""
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    assert canary(forgejo, config) == 0
    [decision] = decision_comments(forgejo)
    earlier = dict(decision)
    forgejo.comments = [c for c in forgejo.comments if "reviewgate:seat:c" not in c["body"]]
    forgejo.comment_post_faults = ["500"] * 10
    assert canary(forgejo, config, "--force") == 12
    assert decision_comments(forgejo) == [earlier]
    assert len(ours(forgejo)) == 3
    row = forgejo.status_rows(HEAD)[-1]
    assert row["status"] == "error" and "HTTP 500" in row["description"]
    assert "HTTP 500" in capsys.readouterr().err


def test_comment_post_client_error_is_not_retried(forgejo, loopback, tmp_path):  # noqa: F811
    """A client error (423 locked) on a comment POST fails the run at once: error status,
    exit 12, no second try."""
    serve(loopback, {})
    forgejo.comment_post_faults = ["423", "423"]
    assert canary(forgejo, write_config(tmp_path, loopback.url)) == 12
    assert forgejo.status_rows(HEAD)[-1]["status"] == "error"
    assert forgejo.comment_post_faults == ["423"]


def test_three_thousand_files_are_all_read(forgejo, loopback, tmp_path):  # noqa: F811
    """A pull request with 3,000 files (60 pages of 50): every file reaches the change set and
    the oversized change is a split."""
    files = [{"filename": f"src/pkg{i // 100}/mod{i}.py", "status": "modified", "additions": 1,
              "deletions": 0, "changes": 1} for i in range(3000)]
    forgejo.prs[7].files = files
    forge = make_forge("forgejo", url=forgejo.url, repo="owner/repo", token="bot-token")
    assert len(forge.list_files(7)) == 3000
    serve(loopback, {("a", "tech"): verdict_json("NOT_OK", risks=[BLOCKER])})
    assert canary(forgejo, write_config(tmp_path, loopback.url)) == 11
    pages = [p for m, p in forgejo.log if "/pulls/7/files" in p]
    assert len(pages) >= 60


def test_pull_request_payload_without_head_names_the_field(
        forgejo, loopback, tmp_path, capsys, monkeypatch):  # noqa: F811
    """A pull request payload missing ``head``: a one-line error naming the field and the
    endpoint, exit 12, nothing posted (no traceback)."""
    original = forgejo._pr_json

    def without_head(pr):
        data = original(pr)
        data.pop("head")
        return data
    monkeypatch.setattr(forgejo, "_pr_json", without_head)
    serve(loopback, {})
    assert canary(forgejo, write_config(tmp_path, loopback.url)) == 12
    err = capsys.readouterr().err
    assert "GET /repos/owner/repo/pulls/7: response has no 'head.sha'" in err
    assert "Traceback" not in err
    assert forgejo.status_rows(HEAD) == [] and ours(forgejo) == []
