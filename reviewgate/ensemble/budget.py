"""Budgets with a defined outcome: the run's upper-bound cost, compared before any model call.

The estimate of a round is, per ballot, the prompt's estimated tokens
(:data:`reviewgate.context.packing.CHARS_PER_TOKEN` characters a token) plus the seat's output
limit, at the seat's prices (:func:`reviewgate.core.catalogue.ballot_cost`); a ballot the
verdict cache holds costs nothing; a grouping seat (``consolidate = "seat:NAME"``) adds one call
of :data:`GROUPING_PROMPT_TOKENS` plus its output limit. A re-ask, when an answer is invalid,
is spent on top (it cannot be known before). A seat with no price makes the estimate unknown.

:func:`check` compares it with ``[budget]`` (:class:`reviewgate.core.config.Budget`): the run
budget, and what is left of the pull request's budget after the earlier rounds' spend. The
caller acts on the verdict: the fallback profile, or no model call and ``error``. Pure; no
network imports.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..core.catalogue import ballot_cost
from ..core.config import Budget, Profile, SeatConfig
from ..core.errors import ReviewgateError

__all__ = ["GROUPING_PROMPT_TOKENS", "TYPICAL_PROMPT_TOKENS", "BudgetExceeded", "BudgetState",
           "check", "describe", "grouping_cost", "priced", "typical_round_usd"]

#: The prompt of a typical round, in tokens: a 400-line diff (about 5,100 tokens: the size at
#: which the default policy splits) with the default 24,000 tokens of context and the rest of
#: the prompt (instructions, persona, schema: about 3,000).
TYPICAL_PROMPT_TOKENS = 5_100 + 24_000 + 3_000

#: Prompt tokens allowed for a grouping call (up to 48 findings of about 600 characters).
GROUPING_PROMPT_TOKENS = 9_000


class BudgetExceeded(ReviewgateError):
    """A round over its budget with no fallback: no model was called."""


class BudgetState(BaseModel):
    """What a round could spend and what it was allowed: ``estimate_usd`` (None: unknown, a
    seat has no price), the earlier rounds' ``spent_usd`` on this pull request, the limits,
    the ``profile`` that ran and, when it is the fallback, ``fallback_reason``."""

    estimate_usd: float | None = None
    unpriced: list[str] = Field(default_factory=list)
    spent_usd: float = 0.0
    run_usd: float | None = None
    pull_request_usd: float | None = None
    profile: str = ""
    fallback_reason: str = ""

    @property
    def left_usd(self) -> float | None:
        """What the pull request's budget still allows (None: no such budget)."""
        if self.pull_request_usd is None:
            return None
        return max(0.0, self.pull_request_usd - self.spent_usd)


def priced(seat: SeatConfig) -> bool:
    """True when the seat's cost is known: it has prices (from the seat or the built-in table),
    or it runs on the machine or the owners' own server (the embedded model, a self-hosted
    Ollama), which bills nothing."""
    if seat.provider == "local" or (seat.provider == "ollama" and not seat.cloud):
        return True
    return "default" not in (seat.origin("price_in_per_mtok"), seat.origin("price_out_per_mtok"))


def grouping_cost(profile: Profile) -> float:
    """The upper bound of the grouping call of ``profile`` in USD (0 without one)."""
    wanted = profile.policy.consolidate.removeprefix("seat:")
    seat = next((s for s in profile.seats if s.name == wanted), None)
    if seat is None or not profile.policy.consolidate.startswith("seat:"):
        return 0.0
    return ballot_cost(seat, tokens_in=GROUPING_PROMPT_TOKENS,
                       tokens_out=seat.max_output_tokens or 0)


def check(budget: Budget, profile_name: str, profile: Profile, ballots_usd: float,
          spent_usd: float = 0.0) -> tuple[BudgetState, str]:
    """The round's state against ``budget`` and why it may not run ("" when it may).

    Args:
        ballots_usd: the upper bound of the ballots not in the verdict cache, USD.
        spent_usd: what the earlier rounds of the pull request spent, USD.
    """
    unpriced = sorted(s.name for s in profile.seats if not priced(s))
    estimate = None if unpriced else round(ballots_usd + grouping_cost(profile), 6)
    state = BudgetState(estimate_usd=estimate, unpriced=unpriced, spent_usd=round(spent_usd, 6),
                        run_usd=budget.run_usd, pull_request_usd=budget.pull_request_usd,
                        profile=profile_name)
    if not budget.active:
        return state, ""
    if estimate is None:
        if budget.allow_unpriced:
            return state, ""
        return state, (f"not reviewed: the cost of seat(s) {', '.join(unpriced)} is unknown "
                       "(no price), which a budget refuses (allow_unpriced = true to accept)")
    if budget.run_usd is not None and estimate > budget.run_usd:
        return state, (f"not reviewed: estimated ${estimate:.2f} over the ${budget.run_usd:.2f} "
                       "run budget")
    left = state.left_usd
    if left is not None and estimate > left:
        return state, (f"not reviewed: estimated ${estimate:.2f} over the ${left:.2f} left of "
                       f"the ${budget.pull_request_usd:.2f} pull request budget "
                       f"(${spent_usd:.2f} spent)")
    return state, ""


def typical_round_usd(profile: Profile) -> float | None:
    """The upper bound of a typical round of ``profile`` in USD (every ballot a
    :data:`TYPICAL_PROMPT_TOKENS` prompt, or the seat's window when smaller, plus its output
    limit; the grouping call), or None when a seat has no price."""
    if not all(priced(s) for s in profile.seats):
        return None
    total = grouping_cost(profile)
    for seat in profile.seats:
        room = max(0, (seat.context_window or 0) - (seat.max_output_tokens or 0))
        total += len(profile.hats) * ballot_cost(
            seat, tokens_in=min(TYPICAL_PROMPT_TOKENS, room),
            tokens_out=seat.max_output_tokens or 0)
    return round(total, 6)


def describe(budget: Budget, profile: Profile) -> list[str]:
    """What ``config check`` says of the budgets and a typical round."""
    typical = typical_round_usd(profile)
    cost = ("unknown (a seat has no price)" if typical is None
            else f"at most ${typical:.4f} (a 400-line diff with full context)")
    lines = [f"typical round: {cost}"]
    if not budget.active:
        return lines + ["budget: none ([budget] run_usd / pull_request_usd to bound spend)"]
    parts = []
    if budget.run_usd is not None:
        parts.append(f"run ${budget.run_usd:.2f}")
    if budget.pull_request_usd is not None:
        parts.append(f"pull request ${budget.pull_request_usd:.2f}")
    over = ("a fallback to profile " + repr(budget.fallback_profile)
            if budget.fallback_profile else "no model call and status error")
    lines.append(f"budget: {', '.join(parts)}; over it: {over}; unpriced seats "
                 f"{'allowed' if budget.allow_unpriced else 'refused'}")
    if typical is not None and budget.run_usd is not None and typical > budget.run_usd:
        lines.append(f"note: a typical round (${typical:.2f}) is over the run budget")
    return lines
