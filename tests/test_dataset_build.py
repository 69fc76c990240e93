"""``reviewgate dataset build`` on the Forgejo and GitHub doubles: seven pull requests (one
open, one closed unmerged, one whose diff is refused as too large, a comment on an earlier
commit, a reply, bot, author and gate comments, an AWS-style key in a human comment); every
entry, exclusion and redaction is checked, and the dataset loads for ``reviewgate eval``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from history import (BASES, BOB, C4A, CAROL, ERIN, FRANK, GATE, HEAD4, HEADS, KEY,
                     forgejo_history, github_history, path)

from reviewgate.cli import main
from reviewgate.forge.base import hunk_end
from reviewgate.quality.dataset import load_dataset

#: What both forges leave out of #4..#7: bob's "LGTM" and dave's "+1"; the gate's review, its
#: line comment and dave's comment imitating the gate's marker; the bot; the author's reply in
#: carol's thread; the author's own comment; erin's comment on a line the diff does not show.
LEFT_OUT = {"approval or empty": 2, "gate": 3, "bot": 1, "reply": 1, "author": 1,
            "line no longer in the diff": 1}


def build(capsys, fake, forge: str, url: str, out: Path, *extra: str) -> tuple[dict, str]:
    code = main(["dataset", "build", "--forge", forge, "--url", url, "--repo", "owner/repo",
                 "--out", str(out), "--bot-login", GATE, *extra])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads((out / "dataset.json").read_text()), captured.out + captured.err


def golden(entry: dict) -> list[tuple]:
    return [(g["id"], g["comment"], g.get("path"), g.get("line"), g.get("side"),
             g["commit"]) for g in entry["golden"]]


def check_common(data: dict, out: Path) -> dict[str, dict]:
    """The entries both forges build alike, and what they leave out; returns them by id."""
    by_id = {e["id"]: e for e in data["prs"]}
    e7 = by_id[f"7@{HEADS[7][:12]}"]
    assert golden(e7) == [("g1", ERIN, None, None, None, HEADS[7])]  # a review body
    assert "expect" not in e7 and e7["pr"] == 7 and e7["commit"] == HEADS[7]
    e6 = by_id[f"6@{HEADS[6][:12]}"]
    assert e6["golden"] == [] and e6["expect"] == "merge"
    e5 = by_id[f"5@{HEADS[5][:12]}"]
    redacted = CAROL.replace(KEY, "[REDACTED:aws]")
    assert golden(e5) == [("g1", redacted, path(5), 2, "RIGHT", HEADS[5])]
    # the comment on the first push is an entry of its own, with that commit's diff
    e4a = by_id[f"4@{C4A[:12]}"]
    assert golden(e4a) == [("g1", BOB, path(4), 3, "RIGHT", C4A)]
    first_push = (out / e4a["diff"]).read_text()
    assert "+    while n: pass" in first_push and "while n > 0" not in first_push
    e4 = by_id[f"4@{HEAD4[:12]}"]
    assert golden(e4) == [("g1", FRANK, path(4), 1, "RIGHT", HEAD4)]
    assert "+    while n > 0: n -= 1" in (out / e4["diff"]).read_text()
    assert not any(e["pr"] in (1, 2) for e in data["prs"])  # open; closed unmerged
    build = data["build"]
    assert build["left_out"] == LEFT_OUT
    assert (build["merged"], build["closed_unmerged"]) == (5, 1)
    # the key is gone from every file written (the comment and #5's diff), counted
    for written in out.rglob("*"):
        if written.is_file():
            assert KEY not in written.read_text(), written
    assert build["redacted"] >= 2 and "[REDACTED:aws]" in (out / e5["diff"]).read_text()
    for e in data["prs"]:
        assert re.fullmatch(r"diffs/\d+-[0-9a-f]{12}\.patch", e["diff"])
    loaded = load_dataset(out)
    assert [p.id for p in loaded.prs] == [e["id"] for e in data["prs"]]
    assert loaded.prs[0].golden[0].location == "" and loaded.build["repo"] == "owner/repo"
    return by_id


def test_forgejo_history_builds_a_dataset(tmp_path, capsys, monkeypatch):
    """Forgejo: line comments are read per review (positions are new-side lines), replies are
    found by place, the diff refused as too large has no patches in Forgejo's files list and
    is left out with a warning; closed pull requests are listed in pages of two."""
    monkeypatch.setenv("REVIEWGATE_FORGE_TOKEN", "bot-token")
    fake = forgejo_history()
    try:
        data, said = build(capsys, fake, "forgejo", fake.url, tmp_path / "out", "--last", "10")
        by_id = check_common(data, tmp_path / "out")
        assert list(by_id) == [f"7@{HEADS[7][:12]}", f"6@{HEADS[6][:12]}",
                               f"5@{HEADS[5][:12]}", f"4@{HEAD4[:12]}", f"4@{C4A[:12]}"]
        assert data["build"]["skipped"] == {"final diff unavailable": 1}
        assert "#3: the forge gave no diff lines" in said and "[5/5] #3" in said
        # the only spec mismatch is the double's 406 for #3 (Forgejo declares 200 and 404)
        assert fake.violations == ["GET /repos/{owner}/{repo}/pulls/{index}.{diffType}: "
                                   "status 406 is not declared"]
        paths = [p for _, p in fake.log]
        assert not any(re.search(r"/pulls/(1|2)\b", p) for p in paths)  # never read
        assert sum("/pulls?" in p for p in paths) == 3  # 6 closed pull requests, pages of 2
        assert all("state=closed" in p and "sort=recentupdate" in p
                   for p in paths if "/pulls?" in p)
        # one request per review that has comments (#4: bob and frank; #5: five; #7: erin)
        assert sum(p.endswith("/comments") and "/reviews/" in p for p in paths) == 8
    finally:
        fake.close()


def test_github_history_builds_a_dataset(tmp_path, capsys, monkeypatch):
    """GitHub: review comments come from one list per pull request (original_commit_id and
    original_line, in_reply_to_id, user.type Bot), the diff refused as too large (406) is
    rebuilt from the files' patches, and rate limits on the way are waited out."""
    monkeypatch.setenv("REVIEWGATE_FORGE_TOKEN", "gh-token")
    fake = github_history()
    fake.rate_limits = ["primary", "secondary"]
    try:
        data, said = build(capsys, fake, "github", fake.url, tmp_path / "out", "--last", "10")
        by_id = check_common(data, tmp_path / "out")
        assert list(by_id) == [f"7@{HEADS[7][:12]}", f"6@{HEADS[6][:12]}",
                               f"5@{HEADS[5][:12]}", f"4@{HEAD4[:12]}", f"4@{C4A[:12]}",
                               f"3@{HEADS[3][:12]}"]
        e3 = by_id[f"3@{HEADS[3][:12]}"]
        assert e3["expect"] == "merge" and e3["golden"] == []
        rebuilt = (tmp_path / "out" / e3["diff"]).read_text()
        assert "+value_8 = 'large'" in rebuilt and rebuilt.startswith("diff --git a/src/mod3.py")
        assert fake.served_limits == 2 and said.count("waiting 0 s: GET") == 2
        assert fake.problems == []
        paths = [p for _, p, _ in fake.log]
        assert not any(re.search(r"/pulls/(1|2)\b", p) for p in paths)
        assert sum("/pulls?" in p for p in paths) == 3 + 2  # the first one was refused twice
    finally:
        fake.close()


def test_last_stops_listing_early(tmp_path, capsys, monkeypatch):
    """--last 2: once the listing reaches pull requests updated before the second newest
    merge, no later page is read (the rest of the history is never listed)."""
    monkeypatch.setenv("REVIEWGATE_FORGE_TOKEN", "bot-token")
    fake = forgejo_history()
    try:
        data, _ = build(capsys, fake, "forgejo", fake.url, tmp_path / "out", "--last", "2")
        assert [e["pr"] for e in data["prs"]] == [7, 6]
        assert sum("/pulls?" in p for _, p in fake.log) == 2  # pages 1 and 2 of 3
        assert not any("/pulls/5" in p or "/pulls/4" in p for _, p in fake.log)
    finally:
        fake.close()


def test_since_keeps_merges_on_or_after_the_date(tmp_path, capsys, monkeypatch):
    """--since 2026-10-05: #7, #6 and #5 (merged 5 Oct 11:59), not #4 or #3."""
    monkeypatch.setenv("REVIEWGATE_FORGE_TOKEN", "gh-token")
    fake = github_history()
    try:
        data, _ = build(capsys, fake, "github", fake.url, tmp_path / "out",
                        "--since", "2026-10-05")
        assert [e["pr"] for e in data["prs"]] == [7, 6, 5]
    finally:
        fake.close()


def test_hostile_path_is_not_a_golden_place(tmp_path, capsys, monkeypatch):
    """A comment whose path is not a repository path (``../``) is left out and counted; no
    file is written outside the output folder whatever the forge says."""
    monkeypatch.setenv("REVIEWGATE_FORGE_TOKEN", "gh-token")
    fake = github_history()
    fake.pulls[6]["comments"].append({
        "id": 999, "pull_request_review_id": None, "user": {"login": "mallory", "type": "User"},
        "body": "Look here", "path": "../../outside", "side": "RIGHT", "original_line": 1,
        "line": 1, "commit_id": HEADS[6], "original_commit_id": HEADS[6],
        "in_reply_to_id": None, "subject_type": "line", "diff_hunk": "",
        "created_at": "2026-10-06T00:00:00Z", "html_url": ""})
    try:
        data, _ = build(capsys, fake, "github", fake.url, tmp_path / "out", "--last", "10")
        assert data["build"]["left_out"]["not a repository path"] == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    finally:
        fake.close()


@pytest.mark.parametrize("hunk, place", [
    ("@@ -1,3 +1,4 @@\n a\n+b\n c", (3, "RIGHT")),
    ("@@ -10,3 +10,2 @@\n a\n-b", (11, "LEFT")),
    ("@@ -1 +1 @@\n-a\n+b\n\\ No newline at end of file\n", (1, "RIGHT")),
    ("no header", None),
    ("@@ -1,2 +1,2 @@", None),
])
def test_hunk_end_maps_a_diff_hunk_to_its_last_line(hunk, place):
    """A comment's diff_hunk ends on the commented line: its number and side."""
    assert hunk_end(hunk) == place


def test_merge_base_is_where_each_entry_starts(tmp_path, capsys, monkeypatch):
    """An earlier commit's diff starts at the pull request's merge base, as the head's does
    (the file at the merge base has no change of the pull request)."""
    monkeypatch.setenv("REVIEWGATE_FORGE_TOKEN", "bot-token")
    fake = forgejo_history()
    try:
        data, _ = build(capsys, fake, "forgejo", fake.url, tmp_path / "out", "--last", "10")
        entry = next(e for e in data["prs"] if e["commit"] == C4A)
        diff = (tmp_path / "out" / entry["diff"]).read_text()
        assert "-value_1 = 1\n" in diff and "-value_3 = 3\n" in diff
        assert any(sha in str(fake.log) for sha in (BASES[4],))
    finally:
        fake.close()


def test_forge_comment_fields_map_to_a_line_and_a_side():
    """Forgejo's position/original_position are new/old-side lines on the review's commit;
    GitHub's original_line on side at original_commit_id; without them, the diff_hunk's end;
    a GitHub comment on the whole file has no line."""
    from reviewgate.forge.base import Review
    from reviewgate.forge.forgejo import ForgejoForge
    from reviewgate.forge.github import GitHubForge

    review = Review(id=5, author="bob", body="", commit_id="a" * 40)
    old_side = ForgejoForge._line_comment({"id": 1, "path": "x.py", "position": 0,
                                           "original_position": 7, "commit_id": "b" * 40,
                                           "user": {"login": "bob"}, "body": "b"}, review)
    assert (old_side.line, old_side.side, old_side.commit) == (7, "LEFT", "a" * 40)
    by_hunk = ForgejoForge._line_comment({"id": 2, "path": "x.py", "diff_hunk":
                                          "@@ -1,2 +1,3 @@\n a\n+b", "body": "b"}, review)
    assert (by_hunk.line, by_hunk.side) == (2, "RIGHT")
    gh = GitHubForge._line_comment({"id": 3, "path": "y.py", "original_line": 4, "line": None,
                                    "side": "LEFT", "original_commit_id": "c" * 40,
                                    "commit_id": "d" * 40, "in_reply_to_id": 2,
                                    "user": {"login": "x[bot]", "type": "Bot"}, "body": "b"})
    assert (gh.line, gh.side, gh.commit, gh.reply_to, gh.author_type) == (
        4, "LEFT", "c" * 40, 2, "Bot")
    legacy = GitHubForge._line_comment({"id": 4, "path": "y.py", "original_line": None,
                                        "diff_hunk": "@@ -8,2 +8,2 @@\n a\n-b",
                                        "original_commit_id": "c" * 40, "body": "b"})
    assert (legacy.line, legacy.side) == (9, "LEFT")
    whole = GitHubForge._line_comment({"id": 5, "path": "y.py", "subject_type": "file",
                                       "original_line": None, "body": "b"})
    assert whole.line is None


@pytest.mark.parametrize("text, approval", [
    ("LGTM", True), ("lgtm!", True), ("+1", True), (":+1:", True), ("👍", True),
    ("Looks good to me, thanks!", True), (":shipit:", True), ("", True),
    ("LGTM but the retry loop never ends", False), ("nit: rename x", False),
    ("Looks good " * 50, False),
])
def test_approvals_without_content(text, approval):
    """An approval says nothing but approval; any other word makes it a comment."""
    from reviewgate.quality.golden import is_approval

    assert is_approval(text) is approval
