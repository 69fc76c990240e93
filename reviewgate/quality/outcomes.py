"""Which seat earns its place: each seat's findings followed to their outcome, from the gate's
own round history (no judge, no model call).

Every reviewed round writes an entry in the pull request's outcome ledger
(:func:`reviewgate.publish.rounds.track_round`): the findings ballots raised for the first
time, the carried findings a quorum of seats marked resolved after a push, the findings a
whole re-review did not raise again, and what each ballot cost. Replayed in order, each
finding ends in one state:

- ``resolved``: a later round's carried marks say the commits pushed since resolved it (the
  precision signal: a finding someone fixed was worth raising);
- ``dropped``: a whole re-review did not raise it again (no judgement either way);
- ``dismissed``: open when a person overrode the gate (the override row of the history);
- ``open at merge``: still open when the pull request merged;
- ``open``: still open on a pull request that is not merged.

Each finding counts for every ballot (seat, hat) that raised it. Pure: no network import.
"""

from __future__ import annotations

from typing import Iterable

from pydantic import BaseModel, Field, ValidationError, computed_field

from ..publish.render import Round

__all__ = ["LedgerEntry", "OutcomeReport", "PullOutcome", "SeatOutcome", "pull_outcome",
           "report"]

#: The states a finding ends in (module docstring).
STATES = ("resolved", "dropped", "dismissed", "open_at_merge", "open")


class LedgerEntry(BaseModel):
    """One round's outcome entry as the trailer stores it (shapes in
    :func:`reviewgate.publish.rounds.track_round`); validated, since a history is read text."""

    n: list[tuple[int, list[tuple[str, str, str]]]] = Field(default_factory=list)
    r: list[int] = Field(default_factory=list)
    d: list[int] = Field(default_factory=list)
    c: list[tuple[str, str, float]] = Field(default_factory=list)


class SeatOutcome(BaseModel):
    """One ballot's figures (a seat wearing a hat) over the pull requests read: findings it
    ``raised``, of them ``corroborated`` (another seat raised the same finding), ``blockers``
    (raised at severity ``blocker``), and how they ended (:data:`STATES`); ``pulls`` where it
    cast a ballot and ``cost_usd`` (USD) it cost there."""

    seat: str
    hat: str
    raised: int = 0
    corroborated: int = 0
    blockers: int = 0
    resolved: int = 0
    dropped: int = 0
    dismissed: int = 0
    open_at_merge: int = 0
    open: int = 0
    pulls: int = 0
    cost_usd: float = 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def resolved_share(self) -> float | None:
        """resolved / raised (0..1), None when it raised nothing."""
        return self.resolved / self.raised if self.raised else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cost_per_pull(self) -> float | None:
        """USD per pull request it cast a ballot on; None when none."""
        return self.cost_usd / self.pulls if self.pulls else None


class PullOutcome(BaseModel):
    """One pull request's ledger, replayed: ``findings`` maps a ledger key to its state and
    ``raisers`` to ``{"seat/hat": severity}``; ``cost_usd`` all its rounds (USD);
    ``unreadable`` rounds whose entry did not validate (or was written before the ledger)."""

    number: int
    merged: bool = False
    rounds: int = 0
    overrides: int = 0
    findings: dict[int, str] = Field(default_factory=dict)
    raisers: dict[int, dict[str, str]] = Field(default_factory=dict)
    costs: dict[str, float] = Field(default_factory=dict)
    cost_usd: float = 0.0
    unreadable: int = 0


def _entry(r: Round) -> LedgerEntry | None:
    if not isinstance(r.outcome, dict):
        return None
    try:
        return LedgerEntry.model_validate(r.outcome)
    except ValidationError:
        return None


def pull_outcome(number: int, rounds: list[Round], *, merged: bool) -> PullOutcome:
    """Replay one pull request's round history (oldest first) into the state of each finding
    (module docstring). An override row dismisses every finding open then; a round without a
    readable ledger entry is counted in ``unreadable`` and changes nothing."""
    out = PullOutcome(number=number, merged=merged)
    for r in rounds:
        if r.decision == "override":
            out.overrides += 1
            for key, state in out.findings.items():
                if state == "open":
                    out.findings[key] = "dismissed"
            continue
        out.rounds += 1
        cost = r.cost if isinstance(r.cost, (int, float)) and r.cost >= 0 else 0.0
        out.cost_usd += cost
        entry = _entry(r)
        if entry is None:
            out.unreadable += 1
            continue
        for key, members in entry.n:
            out.findings.setdefault(key, "open")
            raisers = out.raisers.setdefault(key, {})
            for seat, hat, severity in members:
                raisers.setdefault(f"{seat}/{hat}", severity)
        for key in entry.r:
            if out.findings.get(key) == "open":
                out.findings[key] = "resolved"
        for key in entry.d:
            if out.findings.get(key) == "open":
                out.findings[key] = "dropped"
        for seat, hat, usd in entry.c:
            name = f"{seat}/{hat}"
            out.costs[name] = out.costs.get(name, 0.0) + max(0.0, usd)
    if merged:
        for key, state in out.findings.items():
            if state == "open":
                out.findings[key] = "open_at_merge"
    return out


class OutcomeReport(BaseModel):
    """``reviewgate report``'s result: per ballot (seat, hat) figures, most findings first, and
    the totals: pull requests read, merged, rounds, overrides, rounds without a readable ledger
    entry, all model spend (USD) and spend per pull request."""

    since: str = ""
    pulls: int = 0
    merged: int = 0
    rounds: int = 0
    overrides: int = 0
    unreadable: int = 0
    cost_usd: float = 0.0
    seats: list[SeatOutcome] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cost_per_pull(self) -> float | None:
        """USD per pull request read (None when none was)."""
        return self.cost_usd / self.pulls if self.pulls else None


def report(pulls: Iterable[PullOutcome], *, since: str = "") -> OutcomeReport:
    """Sum replayed pull requests into per-ballot figures. A finding is ``corroborated`` for
    each raiser when two or more distinct seats raised it (one model in two hats is one
    reviewer, as in the decision)."""
    seats: dict[str, SeatOutcome] = {}
    out = OutcomeReport(since=since)

    def row(name: str) -> SeatOutcome:
        seat, _, hat = name.rpartition("/")
        return seats.setdefault(name, SeatOutcome(seat=seat, hat=hat))

    for p in pulls:
        out.pulls += 1
        out.merged += p.merged
        out.rounds += p.rounds
        out.overrides += p.overrides
        out.unreadable += p.unreadable
        out.cost_usd += p.cost_usd
        for name, usd in p.costs.items():
            row(name).cost_usd += usd
            row(name).pulls += 1
        for key, state in p.findings.items():
            raisers = p.raisers.get(key, {})
            several = len({n.rpartition("/")[0] for n in raisers}) >= 2
            for name, severity in raisers.items():
                s = row(name)
                s.raised += 1
                s.corroborated += several
                s.blockers += severity == "blocker"
                setattr(s, state, getattr(s, state) + 1)
    out.seats = sorted(seats.values(), key=lambda s: (-s.raised, s.seat, s.hat))
    for s in out.seats:
        s.cost_usd = round(s.cost_usd, 6)
    out.cost_usd = round(out.cost_usd, 6)
    return out
