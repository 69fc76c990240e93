"""Findings carried from one round to the next (incremental rounds), and their judgement.

An incremental round reviews only the commits pushed since the previous round, so the previous
round's open findings are carried: shown to the reviewers (as ``C1``, ``C2``, ...), judged by
each ballot (:class:`~reviewgate.core.verdict.CarriedMark`), and kept in the decision unless a
quorum of the seats that can judge them marks them resolved (:func:`judge_carried`).

Each seat counts once (one model wearing two hats is one reviewer): a seat's mark is ``open``
when any of its voting ballots says open, else ``resolved`` when any says resolved, else
``unsure`` (a finding a ballot does not mention is ``unsure`` for it). A finding is resolved when
at least ``policy.quorum`` seats mark it resolved and they outnumber the seats that mark it
open; otherwise it stays open and counts as it did in the previous round. Imports: stdlib,
pydantic and the leaf modules only; no network library.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from .config import Policy
from .consolidate import Item, Params, similarity_matrix
from .locations import parse_location
from .verdict import MAX_CARRIED, SEVERITY_RANK, Ballot

__all__ = ["MATCH_THRESHOLD", "CarriedFinding", "CarriedOutcome", "judge_carried",
           "match_pairs", "number_carried"]

#: Similarity at or above which two findings of different rounds are the same finding.
MATCH_THRESHOLD = 0.25


class CarriedFinding(BaseModel):
    """One open finding of the previous round.

    ``id`` is its label in the prompt (``C1``..); ``members`` are the ballots that raised it as
    ``[seat, hat, severity]`` (so it counts exactly as before: corroboration and median severity
    come from them); ``detail`` is the most severe member's text (at most 300 characters).
    ``key`` is the finding's number in the pull request's outcome ledger
    (:func:`reviewgate.publish.rounds.track_round`: a finding keeps it from round to round);
    None in a history written before the ledger.
    """

    id: str
    severity: Literal["blocker", "high", "medium", "low"]
    title: str
    location: str = ""
    detail: str = ""
    members: list[tuple[str, str, str]] = Field(min_length=1)
    key: int | None = None

    @classmethod
    def from_tracked(cls, index: int, data: dict[str, Any]) -> CarriedFinding:
        """From a finding of the decision comment's round history
        (:func:`reviewgate.publish.rounds.tracked`); ``index`` 0 is ``C1``.

        Raises:
            ValueError: the entry lacks its members (a history written before incremental
                rounds) or is malformed.
        """
        members = data.get("m")
        if not members:
            raise ValueError("the finding records no reviewers")
        key = data.get("i")
        return cls(id=f"C{index + 1}", severity=data.get("s", "low"), title=data.get("t", "") or
                   "(untitled)", location=data.get("l", ""), detail=data.get("x", ""),
                   members=[tuple(m) for m in members],
                   key=key if isinstance(key, int) and not isinstance(key, bool) else None)


def number_carried(findings: list[CarriedFinding]) -> list[CarriedFinding]:
    """The findings most severe first (stable), relabelled ``C1``.., at most
    :data:`~reviewgate.core.verdict.MAX_CARRIED` of them shown to reviewers; the rest keep their
    place after them (``C13``.. are never shown, so they stay open)."""
    ordered = sorted(findings, key=lambda f: SEVERITY_RANK.get(f.severity, 3))
    return [f.model_copy(update={"id": f"C{i + 1}"}) for i, f in enumerate(ordered)]


class CarriedOutcome(BaseModel):
    """How one carried finding came out of this round: ``status`` ``resolved`` or ``open``, and
    which seats marked it resolved, open or unsure (seat names, sorted)."""

    id: str
    severity: str
    title: str
    status: Literal["resolved", "open"]
    resolved_by: list[str] = Field(default_factory=list)
    open_by: list[str] = Field(default_factory=list)
    unsure_by: list[str] = Field(default_factory=list)


def _seat_marks(ballots: list[Ballot], finding_id: str) -> dict[str, str]:
    """seat -> ``open`` / ``resolved`` / ``unsure`` for one finding (module docstring)."""
    marks: dict[str, str] = {}
    for b in ballots:
        mark = next((m.status for m in b.marks if m.id == finding_id), "unsure")
        before = marks.get(b.seat, "unsure")
        if "open" in (before, mark):
            marks[b.seat] = "open"
        elif "resolved" in (before, mark):
            marks[b.seat] = "resolved"
        else:
            marks[b.seat] = "unsure"
    return marks


def judge_carried(carried: list[CarriedFinding], ballots: list[Ballot],
                  policy: Policy) -> list[CarriedOutcome]:
    """The outcome of each carried finding (rules in the module docstring), in ``carried``
    order. Only voting ballots judge; a finding beyond
    :data:`~reviewgate.core.verdict.MAX_CARRIED` was never shown and stays open."""
    voting = [b for b in ballots if not b.abstained and b.verdict is not None]
    shown = {f.id for f in carried[:MAX_CARRIED]}
    out = []
    for f in carried:
        marks = _seat_marks(voting, f.id) if f.id in shown else {}
        by = {state: sorted(s for s, m in marks.items() if m == state)
              for state in ("resolved", "open", "unsure")}
        resolved = len(by["resolved"]) >= policy.quorum and len(by["resolved"]) > len(by["open"])
        out.append(CarriedOutcome(id=f.id, severity=f.severity, title=f.title,
                                  status="resolved" if resolved else "open",
                                  resolved_by=by["resolved"], open_by=by["open"],
                                  unsure_by=by["unsure"]))
    return out


def _items(side: str, findings: list[tuple[str, str, str]]) -> list[Item]:
    """(title, detail, location) -> consolidation items; line numbers dropped (a push moves
    lines), the file kept."""
    items = []
    for title, detail, location in findings:
        loc = parse_location(location)
        items.append(Item(ballot=side, text=f"{title}. {detail}",
                          location=loc.path if loc else ""))
    return items


def match_pairs(previous: list[tuple[str, str, str]], current: list[tuple[str, str, str]],
                threshold: float = MATCH_THRESHOLD) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``: ``current[j]`` is ``previous[i]``, each side matched at most once
    (greedy, best similarity first; :mod:`reviewgate.core.consolidate`'s TF-IDF similarity,
    same file required when both name one). Findings are ``(title, detail, location)``."""
    items = _items("previous", previous) + _items("current", current)
    if not previous or not current:
        return []
    sims = similarity_matrix(items, Params(far_factor=1.0))
    n = len(previous)
    ranked = sorted(((sims[i][n + j], i, j) for i in range(n) for j in range(len(current))),
                    key=lambda t: (-t[0], t[1], t[2]))
    used_prev: set[int] = set()
    used_cur: set[int] = set()
    pairs = []
    for sim, i, j in ranked:
        if sim < threshold:
            break
        if i in used_prev or j in used_cur:
            continue
        used_prev.add(i)
        used_cur.add(j)
        pairs.append((i, j))
    return sorted(pairs)
