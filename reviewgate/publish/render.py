"""Comments, status descriptions and summaries, rendered from ``templates/*.j2``.

Model output is untrusted: every model-written field goes through
:func:`reviewgate.publish.sanitize.sanitize` (CommonMark parse, links/images/HTML/mentions
neutralized, re-rendered), paths and locations through :func:`reviewgate.publish.sanitize.code`
(a code span of the raw text), and every posted text through :func:`posted` (secrets
redacted). Every comment body is assembled last by :func:`reviewgate.publish.markers.compose`:
the header line, the sealed text, and for the decision comment the round-history trailer. No
network imports.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..context.prompts import Prompter
from ..context.redaction import scrub
from . import markers
from .rounds import carried_diff
from .sanitize import FIELD_MAX, code, sanitize
from ..ensemble.record import Record
from ..core.verdict import Ballot

if TYPE_CHECKING:
    from .inline import Placed
    from .rounds import RoundDiff

__all__ = ["DECISION_MARKER", "FIELD_MAX", "Round", "name_list", "override_note", "posted",
           "render_decision",
           "render_seat", "sanitize", "seat_marker", "status_description"]

#: Header of the decision comment (with the bot's login, how the gate finds its comment).
DECISION_MARKER = markers.header("decision")
#: Names listed inline before the rest go into a collapsed list.
NAMES_INLINE = 30
#: Names in the collapsed list before the rest are only counted.
NAMES_COLLAPSED = 300
#: Commit status descriptions longer than this are cut (GitHub rejects > 140 characters).
STATUS_DESCRIPTION_MAX = 140


def seat_marker(seat: str) -> str:
    """Header of one seat's comment (seat names are ``[A-Za-z0-9_.-]``, checked by the
    configuration)."""
    return markers.header(f"seat:{seat}")


def name_list(paths: list[str], *, inline: int = NAMES_INLINE,
              collapsed: int = NAMES_COLLAPSED) -> str:
    """File names as Markdown, each once and as a code span of its raw text: the first
    ``inline`` on the line, the next ``collapsed`` in a ``<details>`` block on paragraphs of
    their own (the caller puts this at the end of a top-level paragraph), the rest counted
    with where to find them (``decision.json``)."""
    unique = list(dict.fromkeys(paths))
    head = ", ".join(code(p) for p in unique[:inline])
    rest = unique[inline:]
    if not rest:
        return head
    shown = rest[:collapsed]
    more = len(rest) - len(shown)
    tail = (f"\n\nand {more} more, listed in decision.json (`input.ledger`)." if more else "")
    return (f"{head}, and {len(rest)} more:\n\n<details><summary>{len(rest)} more</summary>"
            f"\n\n{', '.join(code(p) for p in shown)}\n\n</details>{tail}")


@dataclass
class Round:
    """One row of the decision comment's history: a past or current round. ``findings``: the
    round's consolidated findings (:func:`reviewgate.publish.rounds.tracked`), kept for the latest
    round only (None for older ones). What an incremental round needs of it: ``merge_base``
    (the commit the reviewed diff started from; ``base_sha`` is the base branch's tip then),
    ``config`` (the configuration digest) and ``unreviewed`` (files with lines no quorum saw,
    latest round only); ``mode`` is what the round reviewed (``whole``/``incremental``). A
    decision holds for (``merge_base``, ``head_sha``). ``cost``: what the round spent on models,
    USD (the pull request budget sums it). ``outcome``: the round's entry in the pull request's
    outcome ledger (:func:`reviewgate.publish.rounds.track_round`: findings raised, resolved,
    dropped, what each ballot cost), kept for every round; None for an override."""

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
    merge_base: str = ""
    cost: float = 0.0
    outcome: dict | None = None


@functools.lru_cache(maxsize=1)
def _default_prompter() -> Prompter:
    """The shipped templates, loaded and compiled once per process."""
    return Prompter()


def _prompter(prompter: Prompter | None) -> Prompter:
    p = prompter or _default_prompter()
    p.env.globals.update(code=code, names=name_list)  # also seen by imported macros
    return p


def _ballot_map(record: Record) -> dict[tuple[str, str], Ballot]:
    return {(b.seat, b.hat): b for b in record.ballots}


def render_seat(record: Record, seat: str, prompter: Prompter | None = None, *,
                limit: int | None = None) -> str:
    """The comment for one seat: both hats' vote, confidence, risks and opportunities; at most
    ``limit`` characters (:func:`reviewgate.publish.markers.compose`)."""
    ballots = [b for b in record.ballots if b.seat == seat]
    hats = record.config.profile.hats
    ballots.sort(key=lambda b: hats.index(b.hat) if b.hat in hats else len(hats))
    return markers.compose(seat_marker(seat), posted(_prompter(prompter).render(
        "seat_comment.md.j2", marker="", seat=seat, ballots=ballots, hats=hats, s=sanitize,
        record=record)), limit=limit)


def render_decision(record: Record, prompter: Prompter | None = None, *,
                    history: list[Round] | None = None, placed: list[Placed] | None = None,
                    since: tuple[Round, RoundDiff] | None = None, inline: bool = False,
                    seat_sections: bool = False, trailer: bool = False,
                    limit: int | None = None) -> str:
    """The decision comment: status, action, tallies, the seats x hats matrix, what was not
    reviewed (by cause, with line counts), findings, dissents, operator decisions, per-seat
    evidence, usage and cost, and the round history.

    ``placed`` marks which findings sit on a diff line (posted as line comments when
    ``inline``); ``since`` is the previous round and the findings resolved/new/still open
    against it; ``seat_sections`` appends each seat's comment collapsed (``comments =
    "single"``); ``trailer`` ends the body with ``history`` as the hidden round-history trailer
    (:func:`reviewgate.publish.markers.trailer`), the only place the gate reads it from;
    ``limit``: the forge's most characters per comment (the body is cut to fit).
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
        sections = [(seat.name, render_seat(record, seat.name, p).split("\n", 1)[1].strip())
                    for seat in profile.seats]
    content = posted(p.render(
        "decision_comment.md.j2", marker="", record=record, d=record.decision,
        seats=[s.name for s in profile.seats], hats=profile.hats, cell=_ballot_map(record),
        notice=profile.notice, history=history or [], s=sanitize,
        placed_of=lambda c: where.get(id(c)), inline=inline and placed is not None,
        since=since, sections=sections))
    records = [round_record(r) for r in history or []] if trailer else None
    return markers.compose(DECISION_MARKER, content, records, limit=limit)


def override_note(by: str, sha: str, base: str, at: str, reason: str) -> str:
    """The line an override adds to the decision comment (or posts as its author's own
    comment): who, on which head and merge base, when, why; every text made safe."""
    return (f"> 🔓 Override by @\u200b{sanitize(by, cell=True)} on `{sha[:12]}` (merge base "
            f"`{base[:12]}`) at {sanitize(at, cell=True)}: {sanitize(reason, cell=True)}")


def round_record(r: Round) -> dict:
    """One round as the trailer stores it: its fields, every text redacted (findings are
    model text) before it is encoded."""
    def clean(value):
        if isinstance(value, str):
            return posted(value)
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    return clean(dict(r.__dict__))


def status_description(record: Record, prompter: Prompter | None = None, *,
                       stale: bool = False) -> str:
    """The commit status description: decision, the merge base reviewed against (``base`` +
    12 hex digits, what ``gate-status`` compares), tallies; at most 140 characters."""
    text = _prompter(prompter).render("status.j2", d=record.decision, stale=stale,
                                      base=record.input.merge_base or "").strip()
    text = posted(" ".join(text.split()))
    return text if len(text) <= STATUS_DESCRIPTION_MAX else text[: STATUS_DESCRIPTION_MAX - 1] + "…"


#: A redaction as scrub writes it; in a posted body it must stay text (``[X](url)`` would be a
#: link, ``[X]: url`` a reference definition).
_REDACTION = re.compile(r"\[REDACTED:([A-Za-z0-9_-]{1,40})\]")


def posted(text: str) -> str:
    """Text about to leave the machine (comment, status, step summary): known env secrets and
    secret-looking strings redacted (:func:`reviewgate.context.redaction.scrub`), each written
    ``‹REDACTED:kind›``, so that a redaction inside rendered Markdown can never become the
    text of a link, an image or a reference definition."""
    return _REDACTION.sub("\u2039REDACTED:\\1\u203a", scrub(text)[0])
