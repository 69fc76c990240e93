"""The gate's own records across a repository: each pull request updated since a time, with the
round history of the gate's decision comment (what ``reviewgate report`` reads).

Only the gate's own decision comment counts, found as every other reader finds it: written by
the bot's login and opening with the decision header line
(:func:`reviewgate.gate.comments.own_comment`); its round history is read from its trailer line
only (:mod:`reviewgate.publish.markers`). A comment anyone else wrote, whatever it holds, is
never read as a record. Forge requests: the pull request list (one per page of 50 on Forgejo
and Gitea, 100 on GitHub) and one list of comments per pull request (one request per page).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Iterator

from ..core.errors import ForgeError
from ..core.timestamps import parse_time
from ..forge.base import Forge, PullRequest, safe_message
from ..publish.render import DECISION_MARKER, Round
from .comments import own_comment, read_rounds

__all__ = ["PullRecord", "gate_records"]


@dataclass
class PullRecord:
    """One pull request as the gate recorded it: ``rounds`` from its decision comment (oldest
    first; empty when the gate never decided on it), ``merged`` when the forge says it merged,
    ``problem`` when its comments could not be read (then ``rounds`` is empty)."""

    pr: PullRequest
    rounds: list[Round]
    problem: str = ""

    @property
    def merged(self) -> bool:
        """True when the pull request was merged (the forge's ``merged_at``)."""
        return bool(self.pr.merged_at)


def gate_records(forge: Forge, *, since: dt.datetime, login: str,
                 on_progress: Callable[[PullRecord], None] | None = None
                 ) -> Iterator[PullRecord]:
    """Every pull request (open or closed) last updated at or after ``since``, most recently
    updated first, with the round history of ``login``'s decision comment.

    The list is read page by page and stops at the first pull request updated before
    ``since`` (the forge sorts by last update). A pull request whose comments cannot be read is
    yielded with ``problem`` set, and the rest are still read.

    Raises:
        ForgeError: the pull request list itself cannot be read.
    """
    for pr in forge.pulls("all"):
        updated = parse_time(pr.updated_at)
        if updated is not None and updated < since:
            return
        try:
            comment = own_comment(forge.list_comments(pr.number), login, DECISION_MARKER)
        except ForgeError as exc:
            record = PullRecord(pr, [], problem=f"#{pr.number}: comments not read "
                                                f"({safe_message(exc)})")
        else:
            record = PullRecord(pr, read_rounds(comment.body) if comment is not None else [])
        if on_progress is not None:
            on_progress(record)
        yield record
