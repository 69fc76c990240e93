"""Line comments: one comment review per round on the lines the findings name; earlier rounds'
reviews are retired (Forgejo/Gitea delete them, GitHub rewrites them)."""

from __future__ import annotations

from ..context.prompts import Prompter
from ..ensemble.record import Record
from ..forge.base import Forge, LineComment
from ..core.errors import ForgeError
from ..forge.base import safe_message
from ..publish.inline import Placed
from ..publish import markers
from ..publish.render import posted, sanitize

__all__ = ["MAX_INLINE", "RETIRED_MARKER", "REVIEW_MARKER", "post_review"]

#: Header of the gate's pull request review.
REVIEW_MARKER = markers.header("review")


#: Header of a review retired by a later round (GitHub keeps submitted reviews).
RETIRED_MARKER = markers.header("review-retired")


def _kind(body: str) -> str:
    head = markers.read_header(body)
    return head.kind if head is not None else ""


#: Most line comments in one review.
MAX_INLINE = 40


def post_review(forge: Forge, number: int, login: str, sha: str, placed: list[Placed],
                 record: Record, prompter: Prompter, decision_url: str) -> str | None:
    """Post this round's line comments as one comment review, then retire the bot's earlier
    reviews (every live one but the new one: two runs at once converge on one). When the new
    review does not land, nothing is retired: the previous round's line comments stay, and the
    warning says so. Returns a warning instead of raising: the decision comment already holds
    every finding."""
    on_diff = [p for p in placed if p.on_diff][:MAX_INLINE]
    try:
        before = {r.id for r in forge.list_reviews(number)
                  if r.author == login and _kind(r.body) == "review"}
        if on_diff:
            comments = [LineComment(path=p.path or "", line=p.line or 0, body=markers.seal(
                posted(prompter.render("inline_comment.md.j2", c=p.cluster,
                                       s=sanitize)).strip()))
                for p in on_diff]
            body = markers.compose(REVIEW_MARKER, posted(prompter.render(
                "review_body.md.j2", marker="", sha=sha, count=len(comments), url=decision_url,
                d=record.decision)).strip()).strip()
            try:
                forge.create_review(number, commit_id=sha, body=body, comments=comments)
            except ForgeError as exc:
                if exc.status_code is not None and exc.status_code < 500:
                    return (f"line comments not posted ({safe_message(exc)}); the previous "
                            "round's line comments are kept")
                # the reply may be lost after the review landed: the re-list below tells
        live = [r for r in forge.list_reviews(number)
                if r.author == login and _kind(r.body) == "review"]
        new = [r.id for r in live if r.id not in before]
        if on_diff and not new:
            return ("line comments not posted: the review did not land; the previous round's "
                    "line comments are kept")
        keep = max(new) if on_diff else None
        note = markers.compose(RETIRED_MARKER, prompter.render(
            "review_retired.md.j2", marker="", retired="", sha=sha, url=decision_url)).strip()
        for r in live:
            if r.id != keep:
                forge.retire_review(number, r, note)
    except ForgeError as exc:
        return f"line comments not updated: {safe_message(exc)}"
    return None
