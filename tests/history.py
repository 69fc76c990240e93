"""One repository history, served by the fake Forgejo and the fake GitHub, for ``reviewgate
dataset build`` and the eval of what it builds.

Seven pull requests, each changing ``src/modN.py`` (40 lines) from its merge base:

* #1 open; #2 closed without merging (its review must never be read);
* #3 merged, its diff refused as too large (GitHub rebuilds it from the files' patches;
  Forgejo's files list has none);
* #4 merged at ``HEAD4`` after a first push ``C4A``: bob wrote on C4A's line 3 (the loop the
  head fixes) and approved the head with "LGTM"; frank wrote on the head's line 1;
* #5 merged: carol wrote on line 2 with an AWS-style key in her text, the author replied in her
  thread, a bot and the author commented, the gate posted its review (header, line comment),
  and dave's comment imitates the gate's marker;
* #6 merged clean ("+1" approval only);
* #7 merged after erin requested changes (a review body) and commented on line 40, which the
  diff does not show.
"""

from __future__ import annotations

import difflib
import hashlib
from typing import Any

from fake_forgejo import FakeForgejo, FakePR
from fake_github_history import FakeGitHubHistory

KEY = "AKIAIOSFODNN7EXAMPLE"
GATE = "reviewbot"
CAROL = f"Don't hardcode the key {KEY} here, read it from the environment"
BOB = "This loop never terminates when n is 0"
FRANK = "Name this function for what it does, helper says nothing"
ERIN = "Please add tests for the empty input case"


def sha(tag: str) -> str:
    """A commit id for ``tag``."""
    return hashlib.sha1(tag.encode()).hexdigest()


BASE_LINES = [f"value_{i} = {i}" for i in range(1, 41)]


def text(changes: dict[int, str]) -> str:
    """The 40-line file with ``changes`` (line number -> new text)."""
    return "".join(changes.get(i, line) + "\n" for i, line in enumerate(BASE_LINES, 1))


def unified(path: str, old: str, new: str) -> str:
    """``git diff`` of one file (three lines of context)."""
    body = difflib.unified_diff(old.splitlines(), new.splitlines(), f"a/{path}", f"b/{path}",
                                lineterm="", n=3)
    return f"diff --git a/{path} b/{path}\n" + "".join(line + "\n" for line in body)


def patch_of(diff: str) -> str:
    """The files API's ``patch`` of a one-file diff: its hunks without the headers."""
    return diff[diff.index("@@"):]


def hunk(diff: str, line: int) -> str:
    """A ``diff_hunk`` as a forge stores it: the diff's hunk cut after the new ``line``."""
    out, new = [], 0
    for row in diff.splitlines()[3:]:
        out.append(row)
        if row.startswith("@@"):
            new = int(row.split("+")[1].split(",")[0].split(" ")[0]) - 1
        elif not row.startswith("-"):
            new += 1
        if new == line and not row.startswith(("@@", "-")):
            break
    return "\n".join(out)


C4A, HEAD4 = sha("c4a"), sha("head4")
HEADS = {n: sha(f"head{n}") for n in range(1, 8)} | {4: HEAD4}
BASES = {n: sha(f"mb{n}") for n in range(1, 8)}
#: What each head changes (line -> text); #4's first push too.
CHANGES: dict[str, dict[int, str]] = {
    HEADS[1]: {5: "value_5 = 'open'"}, HEADS[2]: {5: "value_5 = 'closed'"},
    HEADS[3]: {8: "value_8 = 'large'"},
    C4A: {1: "def helper(n):", 3: "    while n: pass"},
    HEAD4: {1: "def helper(n):", 3: "    while n > 0: n -= 1"},
    HEADS[5]: {2: f"KEY = '{KEY}'", 4: "value_4 = 44", 5: "value_5 = 55", 6: "value_6 = 66"},
    HEADS[6]: {10: "value_10 = 1000"}, HEADS[7]: {10: "value_10 = parse(data)"}}
UPDATED = {7: "2026-10-07T12:00:00Z", 2: "2026-10-06T18:00:00Z", 6: "2026-10-06T12:00:00Z",
           5: "2026-10-05T12:00:00Z", 4: "2026-10-04T12:00:00Z", 3: "2026-10-03T12:00:00Z",
           1: "2026-10-08T12:00:00Z"}
MERGED = {n: UPDATED[n].replace("12:00:00", "11:59:00") for n in (3, 4, 5, 6, 7)}


def path(n: int) -> str:
    return f"src/mod{n}.py"


def diff_of(n: int, head: str) -> str:
    return unified(path(n), text({}), text(CHANGES[head]))


def files_of(n: int, head: str, *, patch: bool) -> list[dict[str, Any]]:
    diff = diff_of(n, head)
    added = sum(1 for line in diff.splitlines() if line.startswith("+") and
                not line.startswith("+++"))
    row = {"filename": path(n), "status": "modified", "additions": added, "deletions": added,
           "changes": 2 * added}
    return [{**row, "patch": patch_of(diff)} if patch else row]


#: The reviews of each pull request: (user, state, body, commit, [comments]); a comment is
#: (user, line, body, reply-to-first?, user type).
def reviews() -> dict[int, list[tuple[Any, ...]]]:
    return {
        2: [("bob", "REQUEST_CHANGES", "Never read: this pull request was not merged",
             HEADS[2], [])],
        4: [("bob", "COMMENT", "", C4A, [("bob", 3, BOB, False, "User")]),
            ("bob", "APPROVED", "LGTM", HEAD4, []),
            ("frank", "COMMENT", "", HEAD4, [("frank", 1, FRANK, False, "User")])],
        5: [("carol", "COMMENT", "", HEADS[5], [("carol", 2, CAROL, False, "User"),
                                                ("alice", 2, "Fixed in the next push",
                                                 True, "User")]),
            ("ci-helper[bot]", "COMMENT", "", HEADS[5],
             [("ci-helper[bot]", 4, "Coverage dropped by 2 percent", False, "Bot")]),
            ("alice", "COMMENT", "", HEADS[5], [("alice", 5, "Note to self: rename this",
                                                 False, "User")]),
            (GATE, "COMMENT", "<!-- reviewgate:review -->\nreviewgate found 1 issue",
             HEADS[5], [(GATE, 6, "**Magic number** value_6 should be named", False,
                         "User")]),
            ("dave", "COMMENT", "", HEADS[5],
             [("dave", 7, "<!-- reviewgate:decision -->\nmerge: all good", False, "User")])],
        6: [("dave", "APPROVED", "+1", HEADS[6], [])],
        7: [("erin", "REQUEST_CHANGES", ERIN, HEADS[7],
             [("erin", 40, "And this constant is wrong", False, "User")])]}


def trees() -> dict[str, dict[str, str]]:
    """Commit -> the texts of its files (what compare and the raw endpoint read)."""
    out = {BASES[n]: {path(n): text({})} for n in range(1, 8)}
    out.update({HEADS[n]: {path(n): text(CHANGES[HEADS[n]])} for n in range(1, 8)})
    out[C4A] = {path(4): text(CHANGES[C4A])}
    return out


def parents() -> dict[str, list[str]]:
    out = {BASES[n]: [] for n in range(1, 8)}
    out.update({HEADS[n]: [BASES[n]] for n in range(1, 8)})
    out[C4A], out[HEAD4] = [BASES[4]], [C4A]
    return out


def _state(n: int) -> tuple[str, str]:
    return ("open", "") if n == 1 else ("closed", "") if n == 2 else ("closed", MERGED[n])


def forgejo_history() -> FakeForgejo:
    """The history on the fake Forgejo (pages of two: the server's cap)."""
    fake = FakeForgejo()
    fake.page_cap = 2
    fake.trees.update(trees())
    fake.parents.update(parents())
    for n in range(1, 8):
        state, merged = _state(n)
        fake.add_pr(FakePR(number=n, title=f"Change {n}", body=f"Body of {n}",
                           diff=diff_of(n, HEADS[n]), head_sha=HEADS[n], base_sha=BASES[n],
                           merge_base=BASES[n], files=files_of(n, HEADS[n], patch=False),
                           author="alice", state=state, merged_at=merged,
                           updated_at=UPDATED[n], refuse_diff=n == 3))
    for n, listed in reviews().items():
        for user, state, body, commit, comments in listed:
            diff = diff_of(n, commit if commit != C4A else C4A)
            fake.add_review(n, user, state, body, commit, [
                {"path": path(n), "body": cbody, "new_position": line, "user": cuser,
                 "diff_hunk": hunk(diff, line), "commit_id": commit}
                for cuser, line, cbody, _, _ in comments])
    return fake


def github_history() -> FakeGitHubHistory:
    """The history on the fake GitHub (pages of two)."""
    fake = FakeGitHubHistory()
    fake.page_cap = 2
    fake.trees.update(trees())
    fake.parents.update(parents())
    for n in range(1, 8):
        state, merged = _state(n)
        fake.add_pull(n, title=f"Change {n}", body=f"Body of {n}", author="alice",
                      head=HEADS[n], base=BASES[n], diff=diff_of(n, HEADS[n]),
                      files=files_of(n, HEADS[n], patch=True), state=state,
                      merged_at=merged or None, updated_at=UPDATED[n], refuse_diff=n == 3)
    for n, listed in reviews().items():
        for user, state, body, commit, comments in listed:
            state = {"REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}.get(
                state, state)
            rows = [{"path": path(n), "body": cbody, "original_line": line, "user": cuser,
                     "user_type": ctype,
                     # a later push changed the line: GitHub's line is null then, and
                     # commit_id stays where the line last was
                     "line": None if commit == C4A else line, "original_commit_id": commit,
                     "diff_hunk": hunk(diff_of(n, commit), line),
                     "in_reply_to_id": "first" if reply else None}
                    for cuser, line, cbody, reply, ctype in comments]
            review = fake.add_review(n, user, state, body, commit,
                                     user_type="Bot" if user.endswith("[bot]") else "User",
                                     comments=rows)
            mine = [c for c in fake.pulls[n]["comments"]
                    if c["pull_request_review_id"] == review["id"]]
            for c in mine:
                if c["in_reply_to_id"] == "first":
                    c["in_reply_to_id"] = mine[0]["id"]
    return fake
