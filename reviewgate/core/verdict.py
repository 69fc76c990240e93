"""The verdict model, the ballot record and the JSON schema sent to providers.

A *verdict* is what one reviewer (seat x hat) answers; a *ballot* is the record of that review:
the raw text, usage, latency and the parsed verdict or the reason there is none (ABSTAIN).

The JSON schema sent to providers is generated from :class:`Verdict` by :func:`verdict_schema`,
so the request and the validation can never drift apart. Reading a verdict out of raw model
text is :mod:`reviewgate.core.extraction`. Imports: stdlib and pydantic only.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .answer_bounds import MAX_ANSWER_CHARS

__all__ = [
    "HAT_MARKER",
    "MAX_ANSWER_CHARS",
    "MAX_CARRIED",
    "Answer",
    "Ballot",
    "CarriedMark",
    "Finding",
    "RoundVerdict",
    "Severity",
    "Verdict",
    "Vote",
    "model_schema",
    "verdict_schema",
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
    the seat's prices, each kind of token at its own price. ``cached``:
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


# --- schema -------------------------------------------------------------------------------------

# Keywords that strict structured-output modes reject or ignore (OpenAI strict mode, Anthropic
# structured outputs). Bounds are still enforced: pydantic validates every answer.
_STRICT_UNSUPPORTED = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
                       "maxLength", "maxItems", "minItems", "title", "default"}


# Grammars (the embedded model) get every string capped at GRAMMAR_MAX_CHARS, which bounds how
# long a small model can ramble (a few hundred tokens at about 35 tokens/s on 2 cores; see
# reviewgate.providers.local_worker). GBNF converters turn maxLength into one nested repetition
# per character, so a 2,000-character bound makes a grammar llama.cpp refuses ("number of rules
# ... exceeds sane defaults", seen with llama-cpp-python 0.3.36).
GRAMMAR_MAX_CHARS = 160
_GRAMMAR_UNSUPPORTED = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "title",
                        "default"}


def verdict_schema(dialect: Literal["full", "strict", "grammar"] = "full", *,
                   carried: bool = False) -> dict[str, Any]:
    """The JSON schema of :class:`Verdict` (``carried``: of :class:`RoundVerdict`, for an
    incremental round with findings carried from the previous one) in one dialect (a fresh
    copy; see :func:`model_schema`). In the ``grammar`` dialect ``confidence`` is offered as
    the literal values 0.0, 0.1, ... 1.0: grammars cannot bound numbers, and small models answer
    100 or 1e15.
    """
    return copy.deepcopy(_verdict_schema(dialect, carried))


@functools.lru_cache(maxsize=None)
def _verdict_schema(dialect: str, carried: bool = False) -> dict[str, Any]:
    result = model_schema(RoundVerdict if carried else Verdict, dialect)
    if dialect == "grammar":
        result["properties"]["confidence"] = {"enum": [round(i / 10, 1) for i in range(11)]}
    return result


def model_schema(model: type[BaseModel], dialect: str = "full") -> dict[str, Any]:
    """The JSON schema of a pydantic ``model``, inlined (no ``$ref``), in one dialect.

    ``full`` keeps every bound (Ollama ``format``); ``strict`` drops the keywords OpenAI strict
    mode and Anthropic structured outputs do not accept and keeps ``additionalProperties: false``
    with every field required (OpenAI structured outputs guide, "Supported schemas");
    ``grammar`` (llama.cpp) keeps the array bounds and caps strings at
    :data:`GRAMMAR_MAX_CHARS`. pydantic validates every bound anyway.
    """
    dropped = {"full": {"title", "default"}, "strict": _STRICT_UNSUPPORTED,
               "grammar": _GRAMMAR_UNSUPPORTED}[dialect]
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(copy.deepcopy(defs[node["$ref"].split("/")[-1]]))
            out = {}
            for key, value in node.items():
                if key in dropped and not isinstance(value, dict):
                    continue
                out[key] = inline(value)
            if out.get("type") == "object":
                out["additionalProperties"] = False
                out["required"] = list(out.get("properties", {}))
            return out
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    result = inline(schema)
    result.pop("title", None)
    if dialect == "grammar":
        _cap_strings(result)
    return result


def _cap_strings(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string":
            node["maxLength"] = min(node.get("maxLength", GRAMMAR_MAX_CHARS), GRAMMAR_MAX_CHARS)
        for value in node.values():
            _cap_strings(value)
    elif isinstance(node, list):
        for item in node:
            _cap_strings(item)


#: Where the hat-specific part of a review prompt begins (``templates/review.j2``): everything
#: before it is the same for every hat of a seat, the prefix a provider's prompt cache can reuse.
HAT_MARKER = "\nYour hat for this ballot: "
