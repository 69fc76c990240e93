"""Consolidation by a seat: one structured-output call that groups the findings (ids in, groups
out), for ``[profiles.X.policy] consolidate = "seat:NAME"``.

Any failure of that call (no key, HTTP error, timeout, refusal, an answer that is not a grouping
of exactly the ids sent) falls back to the deterministic grouping of
:mod:`reviewgate.core.consolidate`; the decision records which one decided.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from .budget import Purse
from .estimate import ask_bound_usd
from .questions import AskError, ask_seat
from ..core.config import Profile
from ..core.decision import Raised
from ..context.prompts import Prompter
from ..providers import Provider

__all__ = ["Grouping", "SeatGrouping", "consolidate_with_seat"]


class Grouping(BaseModel):
    """The answer a seat gives: lists of finding ids (``F1``, ``F2``, ...), one per issue."""

    groups: list[list[str]] = Field(max_length=500)


class SeatGrouping(BaseModel):
    """What the seat decided: ``groups`` (indices into the findings) or None, and ``by``
    (``seat:NAME``, or ``deterministic (seat:NAME failed: reason)``); usage in tokens and USD."""

    groups: list[list[int]] | None
    by: str
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0


def _to_indices(grouping: Grouping, count: int) -> list[list[int]]:
    """Ids to indices; ids left out become groups of their own.

    Raises:
        ValueError: an unknown or repeated id.
    """
    seen: set[int] = set()
    groups: list[list[int]] = []
    for group in grouping.groups:
        indices = []
        for ident in group:
            text = ident.strip().upper().removeprefix("F")
            if not text.isdigit() or not 1 <= int(text) <= count:
                raise ValueError(f"unknown finding id {ident[:20]!r}")
            index = int(text) - 1
            if index in seen:
                raise ValueError(f"finding id {ident[:20]!r} is in two groups")
            seen.add(index)
            indices.append(index)
        if indices:
            groups.append(sorted(indices))
    groups.extend([i] for i in range(count) if i not in seen)
    return sorted(groups, key=lambda g: g[0])


async def consolidate_with_seat(raised: list[Raised], profile: Profile, prompter: Prompter, *,
                                provider: Provider | None = None,
                                purse: Purse | None = None) -> SeatGrouping:
    """Ask the seat named by ``profile.policy.consolidate`` (``seat:NAME``) to group ``raised``.
    The call takes the upper bound of its actual prompt from ``purse`` (what the run may still
    commit) and is not made when it does not fit.

    Returns:
        a :class:`SeatGrouping`; ``groups`` is None when the deterministic grouping must decide
        (policy not ``seat:``, fewer than two findings, or the call failed: ``by`` says why).
    """
    wanted = profile.policy.consolidate
    if not wanted.startswith("seat:") or len(raised) < 2:
        return SeatGrouping(groups=None, by="deterministic")
    name = wanted.split(":", 1)[1]
    seat = next((s for s in profile.seats if s.name == name), None)
    if seat is None:  # config validation prevents it; fail safe anyway
        return SeatGrouping(groups=None, by=f"deterministic ({wanted} failed: no such seat)")
    findings = [{"id": f"F{i + 1}", "severity": r.finding.severity,
                 "location": r.finding.location, "title": r.finding.title,
                 "detail": r.finding.detail} for i, r in enumerate(raised)]
    prompter.fence_safe_texts([f"{f['title']} {f['detail']} {f['location']}" for f in findings])
    messages = [{"role": "user", "content": prompter.render(
        "consolidate.j2", findings=findings, nonce=prompter.nonce)}]
    bound = ask_bound_usd(seat, messages)
    if purse is not None and not purse.take(bound):
        return SeatGrouping(groups=None, by=f"deterministic ({wanted} not asked: at most "
                                            f"${bound:.4f}, over what the run budget leaves)")
    try:
        asked = await ask_seat(seat, messages, Grouping, what="grouping", provider=provider)
    except AskError as exc:
        return SeatGrouping(groups=None, by=f"deterministic ({wanted} failed: {exc})",
                            tokens_in=exc.tokens_in, tokens_out=exc.tokens_out,
                            cost_usd=exc.cost_usd)
    try:
        groups = _to_indices(asked.value, len(raised))
    except ValueError as exc:
        return SeatGrouping(groups=None, by=f"deterministic ({wanted} failed: {exc})",
                            tokens_in=asked.tokens_in, tokens_out=asked.tokens_out,
                            cost_usd=asked.cost_usd)
    return SeatGrouping(groups=groups, by=wanted, tokens_in=asked.tokens_in,
                        tokens_out=asked.tokens_out, cost_usd=asked.cost_usd)
