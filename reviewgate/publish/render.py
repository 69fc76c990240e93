"""Comments, status descriptions and summaries, rendered from ``templates/*.j2``.

Model output is untrusted: every model-written field goes through
:func:`reviewgate.publish.sanitize.sanitize` (CommonMark parse, links/images/HTML/mentions
neutralized, re-rendered) and every posted text through :func:`posted` (secrets redacted).
No network imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..context.prompts import Prompter
from ..context.redaction import scrub
from .rounds import carried_diff
from .sanitize import FIELD_MAX, sanitize
from ..ensemble.record import Record
from ..core.verdict import Ballot

if TYPE_CHECKING:
    from .inline import Placed
    from .rounds import RoundDiff

__all__ = ["DECISION_MARKER", "FIELD_MAX", "Round", "posted", "render_decision",
           "render_seat", "sanitize", "seat_marker", "status_description"]

#: Hidden marker of the decision comment (with the bot's login, how the gate finds its comment).
DECISION_MARKER = "<!-- reviewgate:decision -->"
#: Commit status descriptions longer than this are cut (GitHub rejects > 140 characters).
STATUS_DESCRIPTION_MAX = 140


def seat_marker(seat: str) -> str:
    """Hidden marker of one seat's comment."""
    return f"<!-- reviewgate:seat:{seat} -->"


@dataclass
class Round:
    """One row of the decision comment's history: a past or current round. ``findings``: the
    round's consolidated findings (:func:`reviewgate.publish.rounds.tracked`), kept for the latest
    round only (None for older ones). What an incremental round needs of it: ``base_sha``,
    ``config`` (the profile's configuration digest) and ``unreviewed`` (files no reviewer saw,
    latest round only); ``mode`` is what the round reviewed (``whole``/``incremental``)."""

    head_sha: str
    decision: str
    tallies: str
    fired_by: str
    at: str
    findings: list[dict] | None = None
    base_sha: str = ""
    config: str = ""
    unreviewed: list[str] | None = None
    mode: str = ""


def _prompter(prompter: Prompter | None) -> Prompter:
    return prompter or Prompter()


def _ballot_map(record: Record) -> dict[tuple[str, str], Ballot]:
    return {(b.seat, b.hat): b for b in record.ballots}


def render_seat(record: Record, seat: str, prompter: Prompter | None = None) -> str:
    """The comment for one seat: both hats' vote, confidence, risks and opportunities."""
    ballots = [b for b in record.ballots if b.seat == seat]
    hats = record.config.profile.hats
    ballots.sort(key=lambda b: hats.index(b.hat) if b.hat in hats else len(hats))
    return posted(_prompter(prompter).render("seat_comment.md.j2", marker=seat_marker(seat),
                                             seat=seat, ballots=ballots, hats=hats, s=sanitize,
                                             record=record))


def render_decision(record: Record, prompter: Prompter | None = None, *,
                    history: list[Round] | None = None, placed: list[Placed] | None = None,
                    since: tuple[Round, RoundDiff] | None = None, inline: bool = False,
                    seat_sections: bool = False) -> str:
    """The decision comment: status, action, tallies, the seats x hats matrix, findings,
    dissents, operator decisions, per-seat evidence, usage and cost, and the round history.

    ``placed`` marks which findings sit on a diff line (posted as line comments when
    ``inline``); ``since`` is the previous round and the findings resolved/new/still open
    against it; ``seat_sections`` appends each seat's comment collapsed (``comments =
    "single"``).
    """
    profile = record.config.profile
    p = _prompter(prompter)
    where = {id(x.cluster): x for x in placed or []}
    plan = record.input.round
    if since is None and plan.incremental:  # the command line: the delta the seats judged
        since = (Round(head_sha=plan.previous_head or "", decision="", tallies="",
                       fired_by="", at=""), carried_diff(record.decision))
    sections = []
    if seat_sections:
        sections = [(seat.name, render_seat(record, seat.name, p).replace(
            seat_marker(seat.name), "").strip()) for seat in profile.seats]
    return posted(p.render(
        "decision_comment.md.j2", marker=DECISION_MARKER, record=record, d=record.decision,
        seats=[s.name for s in profile.seats], hats=profile.hats, cell=_ballot_map(record),
        notice=profile.notice, history=history or [], s=sanitize,
        placed_of=lambda c: where.get(id(c)), inline=inline and placed is not None,
        since=since, sections=sections))


def status_description(record: Record, prompter: Prompter | None = None, *,
                       stale: bool = False) -> str:
    """The commit status description: decision and tallies, at most 140 characters."""
    text = _prompter(prompter).render("status.j2", d=record.decision, stale=stale).strip()
    text = posted(" ".join(text.split()))
    return text if len(text) <= STATUS_DESCRIPTION_MAX else text[: STATUS_DESCRIPTION_MAX - 1] + "…"


def posted(text: str) -> str:
    """Text about to leave the machine (comment, status, step summary): known env secrets and
    secret-looking strings redacted (:func:`reviewgate.context.redaction.scrub`)."""
    return scrub(text)[0]
