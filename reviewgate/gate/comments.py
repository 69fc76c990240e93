"""The gate's own comments on a pull request: found by hidden marker AND the bot's login, created
once (a lost reply is found by listing again, never posted twice), edited in place, de-duplicated
after concurrent runs, and the decision comment's hidden round history."""

from __future__ import annotations

import json
import re

from ..core.errors import ForgeError
from ..forge.base import Comment, Forge
from ..publish.render import Round, posted

__all__ = ["CREATE_TRIES", "dedupe", "own_comment", "read_rounds", "restore", "rounds_marker",
           "slim_round", "upsert"]

ROUNDS_RE = re.compile(r"<!-- reviewgate:rounds (?P<data>\[.*?\]) -->", re.DOTALL)


def own_comment(comments: list[Comment], login: str, marker: str) -> Comment | None:
    mine = [c for c in comments if c.author == login and marker in c.body]
    return mine[-1] if mine else None


def read_rounds(body: str) -> list[Round]:
    """The round history hidden in a decision comment (empty when none or unreadable)."""
    m = ROUNDS_RE.search(body or "")
    if not m:
        return []
    try:
        return [Round(**item) for item in json.loads(m.group("data"))]
    except (ValueError, TypeError):
        return []


def rounds_marker(rounds: list[Round]) -> str:
    """The hidden round history; redacted like every posted text (findings are model text)."""
    data = json.dumps([r.__dict__ for r in rounds], separators=(",", ":")).replace(">", "\\u003e")
    return posted(f"<!-- reviewgate:rounds {data} -->")


#: Tries at creating one comment; between tries the comments are re-listed.
CREATE_TRIES = 3


def upsert(forge: Forge, number: int, comments: list[Comment], login: str, marker: str,
            body: str) -> Comment:
    """Edit our comment holding ``marker`` (by ``login``), or create it.

    A create that fails with a server error or no response may still have landed: the
    comments are listed again and a landed copy is edited instead of posting a duplicate.

    Raises:
        ForgeError: a client error (4xx), or every try failed (the last error).
    """
    existing = own_comment(comments, login, marker)
    if existing is not None:
        return existing if existing.body == body else forge.edit_comment(existing.id, body)
    last: ForgeError | None = None
    for _ in range(CREATE_TRIES):
        try:
            return forge.create_comment(number, body)
        except ForgeError as exc:
            if exc.status_code is not None and exc.status_code < 500:
                raise
            last = exc
        landed = own_comment(forge.list_comments(number), login, marker)
        if landed is not None:
            return landed if landed.body == body else forge.edit_comment(landed.id, body)
    assert last is not None
    raise last


def restore(forge: Forge, before: dict[str, Comment], login: str) -> None:
    """Put back the bodies a superseded run overwrote (the later run's, or an earlier round's),
    so its round never stays in the history."""
    for comment in before.values():
        try:
            forge.edit_comment(comment.id, comment.body)
        except ForgeError:
            pass  # deleted meanwhile by the later run's de-duplication


def dedupe(forge: Forge, number: int, login: str, markers: list[str],
            keep: dict[str, str] | None = None) -> None:
    """Delete our duplicate comments (two runs that both created one): per marker the oldest
    stays; ``keep`` gives the body it must hold (the current claim's)."""
    comments = forge.list_comments(number)
    for marker in markers:
        mine = sorted((c for c in comments if c.author == login and marker in c.body),
                      key=lambda c: c.id)
        if len(mine) < 2:
            continue
        first, extra = mine[0], mine[1:]
        wanted = (keep or {}).get(marker)
        if wanted is not None and first.body != wanted:
            forge.edit_comment(first.id, wanted)
        for comment in extra:
            try:
                forge.delete_comment(comment.id)
            except ForgeError:
                pass  # the other run deleted it first


def slim_round(r: Round) -> Round:
    """An older round as kept in the history: its findings dropped (only the latest round's
    findings are compared against)."""
    return Round(head_sha=r.head_sha, decision=r.decision, tallies=r.tallies,
                 fired_by=r.fired_by, at=r.at, base_sha=r.base_sha, mode=r.mode)
