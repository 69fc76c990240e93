"""The verdict model and the ballot record.

A *verdict* is what one reviewer (seat x hat) answers; a *ballot* is the record of that review:
the raw text, usage, latency and the parsed verdict or the reason there is none (ABSTAIN).

The JSON schema sent to providers is generated from :class:`Verdict`
(:func:`reviewgate.core.schema.verdict_schema`), so the request and the validation can never
drift apart; :mod:`reviewgate.core.extract` parses a verdict out of raw model text. Imports:
stdlib and pydantic only.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_CARRIED",
    "SEVERITY_RANK",
    "Answer",
    "Ballot",
    "CarriedMark",
    "Finding",
    "RoundVerdict",
    "Severity",
    "Verdict",
    "Vote",
]

Severity = Literal["blocker", "high", "medium", "low"]
Vote = Literal["OK", "NOT_OK", "ABSTAIN"]

#: Severity order, most severe first.
SEVERITY_RANK: dict[str, int] = {"blocker": 0, "high": 1, "medium": 2, "low": 3}

class Finding(BaseModel):
    """One risk raised by a reviewer.

    ``location`` is ``path:line`` (or ``path:start-end``, or just ``path``; empty when the risk
    is about the pull request as a whole).
    """

    model_config = ConfigDict(extra="forbid")

    severity: Severity
    title: str = Field(min_length=1, max_length=200)
    location: str = Field(max_length=300)
    detail: str = Field(max_length=2000)
    recommendation: str = Field(max_length=2000)


class Verdict(BaseModel):
    """The structured answer of one reviewer.

    ``confidence`` is a probability in 0..1 (models sometimes answer 100 or 1e15: rejected).
    ``questions`` are yes/no questions for the operator ("Is the 500-PR scan limit acceptable?").
    """

    model_config = ConfigDict(extra="forbid")

    vote: Literal["OK", "NOT_OK"]
    confidence: float = Field(ge=0.0, le=1.0)
    summary: str = Field(min_length=1, max_length=2000)
    risks: list[Finding] = Field(max_length=8)
    opportunities: list[str] = Field(max_length=6)
    split: bool
    suggested_split: list[str] = Field(max_length=6)
    questions: list[str] = Field(max_length=4)


#: Most findings of a previous round shown to the reviewers of an incremental round.
MAX_CARRIED = 12


class CarriedMark(BaseModel):
    """One reviewer's judgement of a finding carried from the previous round (incremental
    rounds): ``id`` is the ``C1``.. label the prompt gave it; ``resolved`` when the new commits
    fix it, ``open`` when it still applies, ``unsure`` when the reviewer cannot tell."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=2, max_length=4)
    status: Literal["resolved", "open", "unsure"]
    note: str = Field(max_length=300)


class RoundVerdict(Verdict):
    """The answer in an incremental round: a :class:`Verdict` plus one :class:`CarriedMark`
    per carried finding the reviewer judged (the rest count as ``unsure``)."""

    carried: list[CarriedMark] = Field(max_length=MAX_CARRIED)


class Answer(BaseModel):
    """One raw model answer as received: text, why generation stopped, usage in tokens."""

    model_config = ConfigDict(extra="forbid")

    text: str
    finish: Literal["stop", "length", "refusal"] = "stop"
    tokens_in: int = 0
    tokens_out: int = 0
    refusal: str = ""
    tokens_cached: int = 0
    tokens_cache_write: int = 0


class Ballot(BaseModel):
    """The record of one (seat, hat) review.

    ``vote`` is the verdict's vote, or ``ABSTAIN`` when there is no valid verdict; then
    ``error`` says why ("timeout after 60 s", "missing ANTHROPIC_API_KEY", "unparseable: ...").
    ``raw`` keeps the last raw model text (empty when no answer arrived) and ``answers`` every
    answer in order (the first and the re-ask's), which is what a replay feeds back. Token
    counts are as the provider reported them (summed over the re-ask); ``latency_s`` is wall
    time in seconds; ``tokens_cached`` / ``tokens_cache_write`` are the prompt tokens (part of
    ``tokens_in``) that were provider cache reads / writes; ``cost_usd`` (USD) is computed from
    the seat's prices, each kind of token at its own price, plus each request that got no
    answer but may be billed (a timeout) at its upper bound. ``cached``:
    the ballot came from the verdict cache (its tokens and cost were paid by an earlier run).
    ``marks``: in an incremental round, the verdict's judgements of the carried findings.
    """

    model_config = ConfigDict(extra="forbid")

    seat: str
    hat: str
    provider: str
    model: str
    vote: Vote
    verdict: Verdict | None = None
    raw: str = ""
    answers: list[Answer] = Field(default_factory=list)
    error: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    tokens_cached: int = 0
    tokens_cache_write: int = 0
    latency_s: float = 0.0
    attempts: int = 0
    cost_usd: float = 0.0
    cached: bool = False
    marks: list[CarriedMark] = Field(default_factory=list)

    @property
    def abstained(self) -> bool:
        """True when the ballot has no valid verdict."""
        return self.vote == "ABSTAIN"

    @property
    def key(self) -> str:
        """``hat-seat``, the name used in dissent lists (e.g. ``tech-claude``)."""
        return f"{self.hat}-{self.seat}"
