"""Reading a verdict (or any pydantic model) out of raw model text.

Tolerates prose, Markdown fences, ``<think>`` blocks and the syntax slips a JSON repair fixes,
never completes a cut-off answer, and parses every answer within the bounds of
:mod:`reviewgate.core.answer_bounds` (size, nesting depth, number length), json-repair
included. :class:`ExtractionError` carries the text of a re-ask. Imports: stdlib, pydantic,
json-repair and :mod:`reviewgate.core.verdict` only.
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .answer_bounds import MAX_ANSWER_CHARS, OverBounds, check_text, check_value, loads
from .verdict import RoundVerdict, Verdict

__all__ = ["ExtractionError", "extract_model", "extract_verdict", "replace_surrogates"]

M = TypeVar("M", bound=BaseModel)

_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.DOTALL)


class ExtractionError(ValueError):
    """No valid verdict in a raw answer; ``errors`` is the text to send back in a re-ask."""

    def __init__(self, message: str, errors: str | None = None):
        super().__init__(message)
        self.errors = errors or message


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
