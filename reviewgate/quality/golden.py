"""Which human review comments of a merged pull request are golden comments, and where.

A golden comment is a concern a human reviewer raised, against the code it was written on. Of a
pull request's reviews and review comments (:class:`~reviewgate.forge.base.Review`,
:class:`~reviewgate.forge.base.ReviewComment`), :func:`concerns` keeps

* every line comment that starts a thread, written by a human who is not the pull request's
  author, with content (not an approval such as "LGTM" or "+1"), on a repository path;
* the body of every review that requested changes, on the same terms;

and counts what it leaves out, by reason (:data:`LEFT_OUT`): the gate's own comments (its login,
or a review or comment carrying the gate's markers, :mod:`reviewgate.publish.markers`), bots
(``[bot]`` logins, GitHub's ``user.type: Bot``), the author's own comments, replies in a thread,
approvals and empty texts, bodies of reviews that did not request changes, dismissed reviews,
paths that are not repository paths. :func:`on_diff` then keeps a concern only when its line is
in the diff of the commit it was written on ("line no longer in the diff" otherwise).

Every text here is the forge's, and hostile: nothing is evaluated, paths are checked by
:func:`reviewgate.core.paths.check_repo_path`, and matching is linear in the text. Imports: the
core, the forge's data and the reader of the gate's markers (:mod:`reviewgate.publish.markers`).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from ..core.changeset import FileChange
from ..core.paths import UnsafePath, check_repo_path
from ..forge.base import Review, ReviewComment
from ..publish.markers import foreign_markers, read_header

__all__ = ["CHANGES_REQUESTED", "LEFT_OUT", "Concern", "concerns", "is_approval", "is_bot",
           "on_diff"]

#: The review states that request changes (Forgejo/Gitea, GitHub).
CHANGES_REQUESTED = frozenset({"REQUEST_CHANGES", "CHANGES_REQUESTED"})
#: Reasons a comment is left out, as counted in the dataset's ``build.left_out``.
LEFT_OUT = ("gate", "bot", "author", "reply", "approval or empty", "review body without a "
            "change request", "dismissed review", "not a repository path",
            "line no longer in the diff", "diff unavailable")

#: Words an approval without content is made of ("LGTM", "+1", "looks good to me", "ship it").
_APPROVAL_WORDS = frozenset({
    "lgtm", "sgtm", "+1", "ship", "it", "looks", "look", "good", "great", "to", "me", "fine",
    "nice", "thanks", "thank", "you", "ok", "okay", "approved", "approve", "approving", "all",
    "the", "way", "shipit", "merge", "go", "ahead", "perfect", "awesome", "cool", "yes",
    "yep", "done", "now", "lgtm!", "this", "is", "code"})
#: Most words an approval without content has; a longer text says something.
_APPROVAL_MAX_WORDS = 8
_WORD = re.compile(r"[+]1|[^\W_]+", re.UNICODE)


def is_approval(text: str) -> bool:
    """True when ``text`` says nothing but approval: empty, only emoji and punctuation, or at
    most :data:`_APPROVAL_MAX_WORDS` words all of :data:`_APPROVAL_WORDS` (``LGTM``, ``+1``,
    ``Looks good to me!``, ``:shipit:``, ``👍``)."""
    if len(text) > 400:
        return False
    words = _WORD.findall(text.lower().replace(":shipit:", "shipit").replace(
        ":+1:", "+1").replace(":thumbsup:", "+1"))
    if not words:
        return True  # nothing but emoji, punctuation or white space
    return len(words) <= _APPROVAL_MAX_WORDS and all(w in _APPROVAL_WORDS for w in words)


def is_bot(login: str, user_type: str = "") -> bool:
    """A bot account: GitHub Apps and Actions (``name[bot]``, ``user.type`` ``Bot``)."""
    return user_type.lower() == "bot" or login.lower().endswith("[bot]")


def _is_gate(text: str, author: str, gate_login: str | None) -> bool:
    """The gate's own: its login, or text with the gate's header or any marker-like text."""
    if gate_login and author.lower() == gate_login.lower():
        return True
    return read_header(text) is not None or bool(foreign_markers(text))


@dataclass
class Concern:
    """A human concern kept as a golden comment: its text, who wrote it, where (``path``,
    ``line`` on ``side``; none for a review body) and the commit it was written on."""

    comment: str
    author: str
    commit: str
    path: str | None = None
    line: int | None = None
    side: str | None = None


def _visible(text: str) -> str:
    """``text`` without format characters (zero-width and the like), trimmed."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf").strip()


def concerns(reviews: list[Review], comments: list[ReviewComment], *, author: str,
             gate_login: str | None, head_sha: str, replies_by_place: bool
             ) -> tuple[list[Concern], Counter[str], bool]:
    """The human concerns of one pull request, what was left out (reason -> count), and
    whether a review requested changes.

    Args:
        reviews: every review of the pull request, in the forge's order.
        comments: every line comment of those reviews.
        author: the pull request author's login (their own comments are not concerns).
        gate_login: the gate's login, when known (its comments are never concerns).
        head_sha: the commit a review or comment that names none was written on.
        replies_by_place: the forge marks no replies (Forgejo, Gitea): a comment at the place
            of an earlier one (path, side, line) is a reply in its thread.
    """
    left: Counter[str] = Counter()
    kept: list[Concern] = []
    requested = False
    by_id = {r.id: r for r in reviews}
    gate_reviews = {r.id for r in reviews if _is_gate(r.body, r.author, gate_login)}
    for r in reviews:
        if r.state == "PENDING":
            continue  # not submitted: only its author sees it
        body = _visible(r.body)
        if r.id in gate_reviews:
            left["gate"] += 1
        elif is_bot(r.author, r.author_type):
            left["bot"] += bool(body)
        elif r.author == author:
            left["author"] += bool(body)
        elif r.dismissed or r.state == "DISMISSED":
            left["dismissed review"] += bool(body)
        elif r.state in CHANGES_REQUESTED:
            requested = True
            if is_approval(body):
                left["approval or empty"] += bool(body)
            else:
                kept.append(Concern(comment=r.body.strip(), author=r.author,
                                    commit=r.commit_id or head_sha))
        elif r.state == "APPROVED" or is_approval(body):
            left["approval or empty"] += bool(body) or r.state == "APPROVED"
        else:
            left["review body without a change request"] += 1
    started: set[tuple[str, str, int | None]] = set()
    for c in sorted(comments, key=lambda c: (c.created_at, c.id)):
        place = (c.path, c.side, c.line)
        first = place not in started
        started.add(place)
        review = by_id.get(c.review_id) if c.review_id is not None else None
        if review is not None and review.state == "PENDING":
            continue
        if c.review_id in gate_reviews or _is_gate(c.body, c.author, gate_login):
            left["gate"] += 1
        elif is_bot(c.author, c.author_type):
            left["bot"] += 1
        elif c.reply_to is not None or (replies_by_place and not first):
            left["reply"] += 1
        elif c.author == author:
            left["author"] += 1
        elif is_approval(_visible(c.body)):
            left["approval or empty"] += 1
        else:
            try:
                check_repo_path(c.path)
            except UnsafePath:
                left["not a repository path"] += 1
                continue
            kept.append(Concern(comment=c.body.strip(), author=c.author,
                                commit=c.commit or (review.commit_id if review else "")
                                or head_sha, path=c.path, line=c.line, side=c.side))
    return kept, left, requested


def _lines(f: FileChange, side: str) -> set[int]:
    """The line numbers a diff shows of ``f`` on ``side`` (context lines on both)."""
    shown: set[int] = set()
    for h in f.hunks:
        old, new = h.old_start, h.new_start
        for line in h.lines:
            mark = line[:1]
            if mark == "-":
                if side == "LEFT":
                    shown.add(old)
                old += 1
            elif mark == "+":
                if side == "RIGHT":
                    shown.add(new)
                new += 1
            elif mark in (" ", ""):
                shown.add(old if side == "LEFT" else new)
                old, new = old + 1, new + 1
    return shown


def on_diff(concern: Concern, files: list[FileChange]) -> bool:
    """True when the concern's place is in the diff ``files``: a review body always; a file
    comment when the diff changes the file; a line comment when a hunk shows that line on
    that side (a line the author later changed is still there in the diff it was written on;
    a line gone from it, or a file the diff never shows, is not)."""
    if concern.path is None:
        return True
    mine = [f for f in files if concern.path in (f.path, f.old_path)]
    if not mine:
        return False
    if concern.line is None:
        return True
    side = concern.side or "RIGHT"
    return any(concern.line in _lines(f, side) for f in mine
               if (f.path if side == "RIGHT" else (f.old_path or f.path)) == concern.path)
