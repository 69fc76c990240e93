"""The verdict model, the ballot record and the extraction of a verdict from raw model text.

A *verdict* is what one reviewer (seat x hat) answers; a *ballot* is the record of that review:
the raw text, usage, latency and the parsed verdict or the reason there is none (ABSTAIN).

The JSON schema sent to providers is generated from :class:`Verdict` by :func:`verdict_schema`,
so the request and the validation can never drift apart. Every answer is parsed within the bounds
of :mod:`reviewgate.core.answer_bounds` (size, nesting depth, number length), json-repair
included. Imports: stdlib, pydantic and json-repair only.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .answer_bounds import MAX_ANSWER_CHARS, OverBounds, check_text, check_value, loads

__all__ = [
    "HAT_MARKER",
    "MAX_ANSWER_CHARS",
    "MAX_CARRIED",
    "Answer",
    "Ballot",
    "CarriedMark",
    "ExtractionError",
    "Finding",
    "RoundVerdict",
    "Severity",
    "Verdict",
    "Vote",
    "extract_model",
    "extract_verdict",
    "model_schema",
    "replace_surrogates",
    "verdict_schema",
]

Severity = Literal["blocker", "high", "medium", "low"]
Vote = Literal["OK", "NOT_OK", "ABSTAIN"]

#: Severity order, most severe first.
SEVERITY_RANK: dict[str, int] = {"blocker": 0, "high": 1, "medium": 2, "low": 3}

M = TypeVar("M", bound=BaseModel)


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


# --- extraction ---------------------------------------------------------------------------------

_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.DOTALL)


class ExtractionError(ValueError):
    """No valid verdict in a raw answer; ``errors`` is the text to send back in a re-ask."""

    def __init__(self, message: str, errors: str | None = None):
        super().__init__(message)
        self.errors = errors or message


#: Where the hat-specific part of a review prompt begins (``templates/review.j2``): everything
#: before it is the same for every hat of a seat, the prefix a provider's prompt cache can reuse.
HAT_MARKER = "\nYour hat for this ballot: "
#: Start positions tried when looking for a JSON object in prose (bounds the work on hostile text).
_MAX_STARTS = 64


def _decode(text: str, index: int) -> tuple[Any, int] | None:
    """The JSON value at ``text[index]`` (None when there is none).

    Raises:
        ExtractionError: the value passes a bound (:func:`reviewgate.core.answer_bounds.loads`).
    """
    try:
        return loads(text, index)
    except OverBounds as exc:
        raise ExtractionError(str(exc)) from None
    except json.JSONDecodeError:
        return None


def _candidates(text: str) -> list[Any]:
    """JSON objects found in ``text``: fenced blocks first, then any top-level ``{...}``.

    Raw newlines and tabs inside strings are accepted (``strict=False``: llama.cpp's grammar
    allows them).

    Raises:
        ExtractionError: any value read passes a bound of
            :mod:`reviewgate.core.answer_bounds`: the whole answer is refused.
    """
    found: list[Any] = []
    for block in _FENCE.findall(text):
        hit = _decode(block.strip(), 0)
        if hit is not None:
            found.append(hit[0])
    index = text.find("{")
    starts = 0
    while index != -1 and starts < _MAX_STARTS:
        starts += 1
        hit = _decode(text, index)
        if hit is None:
            index = text.find("{", index + 1)
            continue
        found.append(hit[0])
        index = text.find("{", hit[1])
    return [obj for obj in found if isinstance(obj, dict)]


_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_surrogates(text: str) -> str:
    """``text`` with lone surrogates (bytes that were not UTF-8, kept by ``surrogateescape``)
    replaced by U+FFFD, so it encodes as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


def _no_surrogates(node: Any) -> Any:
    """``node`` with lone surrogates replaced by U+FFFD in every string, so it validates and
    encodes; the raw answer keeps the original."""
    if isinstance(node, str):
        return replace_surrogates(node)
    if isinstance(node, dict):
        return {_no_surrogates(k): _no_surrogates(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_no_surrogates(v) for v in node]
    return node


def _closed(span: str) -> bool:
    """True when the braces of ``span`` (which starts with ``{``) balance exactly at its end,
    ignoring braces inside single- or double-quoted strings."""
    depth, quote, escaped = 0, "", False
    for k, ch in enumerate(span):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return k == len(span) - 1
    return False


def _repaired(text: str) -> dict[str, Any] | None:
    """The object a JSON repair makes of ``text``'s ``{...}`` span, only when that span is
    closed: trailing commas, single quotes, Python literals and the like are repaired, but an
    answer cut off before its closing brace never is (json-repair would invent the rest).

    json-repair runs only on a span within the bounds (:func:`~reviewgate.core.answer_bounds.
    check_text`), and what it makes is checked again (:func:`~reviewgate.core.answer_bounds.
    check_value`).

    Raises:
        ExtractionError: the span or the repaired object passes a bound.
    """
    start, end = text.find("{"), text.rfind("}")
    span = text[start:end + 1]
    if start == -1 or end < start or not _closed(span):
        return None
    import json_repair

    try:
        check_text(span)
        try:
            # skip_json_loads: the strict parse already failed (and would be unbounded here)
            obj = json_repair.loads(span, skip_json_loads=True)
        except Exception:  # the library's own failure on hostile input: nothing to repair
            return None
        check_value(obj)
    except OverBounds as exc:
        raise ExtractionError(str(exc)) from None
    return obj if isinstance(obj, dict) and obj else None


def extract_verdict(text: str, carried_ids: list[str] | None = None) -> Verdict:
    """Parse a :class:`Verdict` out of raw model text (see :func:`extract_model`).

    With ``carried_ids`` (an incremental round), a :class:`RoundVerdict` whose marks each name
    one of those ids, at most once.

    Raises:
        ExtractionError: no JSON object, or none that validates; a mark for an unknown id or
            two marks for one id.
    """
    if not carried_ids:
        return extract_model(text, Verdict, "verdict")
    verdict = extract_model(text, RoundVerdict, "verdict")
    seen: set[str] = set()
    for mark in verdict.carried:
        if mark.id not in carried_ids:
            raise ExtractionError(f"carried: unknown id {mark.id!r}",
                                  errors=f"carried: {mark.id!r} is not one of "
                                         f"{', '.join(carried_ids)}")
        if mark.id in seen:
            raise ExtractionError(f"carried: {mark.id!r} judged twice")
        seen.add(mark.id)
    return verdict


def extract_model(text: str, model: type[M], what: str) -> M:
    """Parse one ``model`` instance out of raw model text.

    Tolerates surrounding prose, Markdown code fences, ``<think>...</think>`` blocks (an
    unclosed ``<think>`` swallows the rest), raw newlines inside strings, and syntax slips that a
    JSON repair fixes (json-repair: trailing commas, single quotes, Python literals) when the
    object is closed. Never completes a truncated answer. Answers over
    :data:`MAX_ANSWER_CHARS` are refused unparsed; JSON nested deeper than
    :data:`~reviewgate.core.answer_bounds.MAX_JSON_DEPTH` levels or holding a number over
    :data:`~reviewgate.core.answer_bounds.MAX_NUMBER_CHARS` characters refuses the answer.

    Raises:
        ExtractionError: empty, too large, past a bound of
            :mod:`reviewgate.core.answer_bounds`, cut off, no JSON object, or none that validates;
            ``errors`` lists the pydantic validation errors of the first candidate ("answer is
            not a valid <what>: ...").
    """
    text = text or ""
    if len(text) > MAX_ANSWER_CHARS:
        raise ExtractionError(f"answer too large: {len(text)} characters "
                              f"(limit {MAX_ANSWER_CHARS})")
    cleaned = _THINK.sub("", text).strip()
    if not cleaned:
        raise ExtractionError("empty answer" if not text.strip()
                              else "answer holds only a <think> block")
    candidates = [_no_surrogates(obj) for obj in _candidates(cleaned)]
    first_error: ValidationError | None = None
    for obj in candidates:
        try:
            return model.model_validate(obj)
        except ValidationError as exc:
            first_error = first_error or exc
    repaired = _repaired(cleaned)
    if repaired is not None:
        repaired = _no_surrogates(repaired)
    if repaired is not None and repaired not in candidates:
        try:
            return model.model_validate(repaired)
        except ValidationError as exc:
            first_error = first_error or exc
    if first_error is None:
        start = cleaned.find("{")
        if start != -1 and not _closed(cleaned[start:cleaned.rfind("}") + 1] or "{"):
            raise ExtractionError("answer is cut off: its JSON object is never closed")
        raise ExtractionError("no JSON object found in the answer")
    lines = [f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
             for err in first_error.errors()[:10]]
    raise ExtractionError(f"answer is not a valid {what}: " + "; ".join(lines[:3]),
                          errors="\n".join(lines))
