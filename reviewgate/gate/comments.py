"""The gate's own comments on a pull request: found by their header line AND the bot's login,
created once (a lost reply is found by listing again, never posted twice), edited in place,
de-duplicated after concurrent runs, and the decision comment's round history, read from its
trailer line only (:mod:`reviewgate.publish.markers`: text anywhere else in a body, whatever its
encoding, is never read as a record)."""

from __future__ import annotations

from dataclasses import fields

from ..core.errors import ForgeError
from ..forge.base import Comment, Forge
from ..publish import markers
from ..publish.render import Round

__all__ = ["CREATE_TRIES", "dedupe", "is_own", "own_comment", "read_rounds", "restore",
           "slim_round", "upsert"]

_ROUND_FIELDS = {f.name for f in fields(Round)}


def is_own(comment: Comment, login: str, head: str) -> bool:
    """True when ``comment`` was written by ``login`` and its first line is exactly ``head``
    (a header from :func:`reviewgate.publish.markers.header`)."""
    return comment.author == login and (comment.body or "").split("\n", 1)[0].rstrip(
        "\r") == head


def own_comment(comments: list[Comment], login: str, head: str) -> Comment | None:
    """The latest comment of ``login`` whose header line is ``head``, or None."""
    mine = [c for c in comments if is_own(c, login, head)]
    return mine[-1] if mine else None


def read_rounds(body: str) -> list[Round]:
    """The round history of a decision comment, from its trailer line (empty when there is
    none or it does not decode). Call it only on a comment :func:`own_comment` found."""
    out = []
    for item in markers.read_trailer(body) or []:
        try:
            out.append(Round(**{k: v for k, v in item.items() if k in _ROUND_FIELDS}))
        except TypeError:
            return []
    return out


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
        mine = sorted((c for c in comments if is_own(c, login, marker)), key=lambda c: c.id)
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
    findings are compared against); its cost and outcome ledger entry kept."""
    return Round(head_sha=r.head_sha, decision=r.decision, tallies=r.tallies,
                 fired_by=r.fired_by, at=r.at, base_sha=r.base_sha, mode=r.mode,
                 merge_base=r.merge_base, cost=r.cost, outcome=r.outcome)
