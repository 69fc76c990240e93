"""The bounds on a model answer, and the one JSON reader that keeps them.

Model output is hostile (DESIGN.md section 9): an endless body, JSON nested 900 deep, an
integer of 4,300 digits (CPython refuses to convert it with ``ValueError``; below that limit
the conversion is still quadratic). Every reader of a model answer goes through this module:

* the HTTP body of every provider and the embedded model's pipe are read at most
  :data:`MAX_ANSWER_BYTES` (:mod:`reviewgate.providers.bounded_http`,
  :mod:`reviewgate.providers.local`);
* the JSON inside an answer's text (verdicts and their carried marks, the grouping, the eval
  judge: all through :func:`reviewgate.core.extraction.extract_model`) is decoded by :func:`loads`,
  and what json-repair makes is repaired only after :func:`check_text` and kept only after
  :func:`check_value`.

==================  =========  ==============================================================
bound               value      why
==================  =========  ==============================================================
MAX_ANSWER_BYTES    4 MiB      bytes of one response body or pipe message: 20x the largest
                               answer parsed (200,000 characters, up to 12 bytes each once
                               JSON-escaped in a response), ~20 MB of memory per ballot at most
MAX_ANSWER_CHARS    200,000    characters of answer text parsed; a full verdict is < 40,000
MAX_JSON_DEPTH      32         nesting levels (a verdict is 3 deep, a grouping 3); keeps every
                               recursive reader (pydantic, json-repair) far from Python's
                               recursion limit of 1,000 frames
MAX_NUMBER_CHARS    64         characters of one number literal (a confidence needs < 20);
                               far below CPython's 4,300-digit limit on ``int()``
==================  =========  ==============================================================

A bound that is hit raises :class:`OverBounds` naming it; the callers make it an ABSTAIN
(:class:`~reviewgate.core.extraction.ExtractionError`, which re-asks; a provider's
:class:`~reviewgate.core.errors.AnswerOverBounds`, which does not). Imports: stdlib only.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MAX_ANSWER_BYTES", "MAX_ANSWER_CHARS", "MAX_JSON_DEPTH", "MAX_NUMBER_CHARS",
           "OverBounds", "check_text", "check_value", "loads"]

#: Most bytes read of one response body (decoded) or one message of the embedded model's pipe.
MAX_ANSWER_BYTES = 4 * 1024 * 1024
#: Longest answer text parsed, in characters; a longer one is refused before any parsing.
MAX_ANSWER_CHARS = 200_000
#: Deepest nesting of JSON arrays and objects accepted (the top-level value is level 1).
MAX_JSON_DEPTH = 32
#: Longest number literal accepted, in characters (sign, digits, point and exponent).
MAX_NUMBER_CHARS = 64

_INT_LIMIT = 10 ** MAX_NUMBER_CHARS


class OverBounds(ValueError):
    """A model answer passed one of the bounds of this module; the message names it."""


def _deep() -> OverBounds:
    return OverBounds(f"answer nested deeper than {MAX_JSON_DEPTH} levels")


def _long_number(length: int) -> OverBounds:
    return OverBounds(f"answer has a number of {length:,} characters "
                      f"(limit {MAX_NUMBER_CHARS})")


def _number(kind: type) -> Any:
    def parse(literal: str) -> Any:
        if len(literal) > MAX_NUMBER_CHARS:
            raise _long_number(len(literal))
        return kind(literal)
    return parse


# strict=False: raw newlines and tabs inside strings (llama.cpp's grammar allows them)
_DECODER = json.JSONDecoder(strict=False, parse_int=_number(int), parse_float=_number(float))


def loads(text: str, index: int = 0) -> tuple[Any, int]:
    """Decode the JSON value that starts at ``text[index]`` (``json.JSONDecoder.raw_decode``
    within the bounds): the value and the index just past it.

    Raises:
        OverBounds: a number literal over :data:`MAX_NUMBER_CHARS` characters (refused before
            it is converted) or nesting over :data:`MAX_JSON_DEPTH` levels.
        json.JSONDecodeError: no JSON value starts at ``index``.
    """
    try:
        value, end = _DECODER.raw_decode(text, index)
    except RecursionError:  # nesting past the interpreter's limit: far past ours
        raise _deep() from None
    check_value(value)
    return value, end


def check_value(value: Any) -> None:
    """Check a decoded value (from :func:`loads` or json-repair) without recursion: nesting
    at most :data:`MAX_JSON_DEPTH` levels, integers under :data:`MAX_NUMBER_CHARS` digits.

    Raises:
        OverBounds: naming the bound passed.
    """
    todo: list[tuple[Any, int]] = [(value, 1)]
    while todo:
        node, depth = todo.pop()
        if isinstance(node, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise _deep()
            todo.extend((child, depth + 1)
                        for child in (node.values() if isinstance(node, dict) else node))
        elif isinstance(node, int) and not isinstance(node, bool) and abs(node) >= _INT_LIMIT:
            raise OverBounds(f"answer has a number over {MAX_NUMBER_CHARS} digits")


# quotes, a backslash, brackets, or a run of digits
_TOKENS = re.compile(r"[\"'\\\[\]{}]|\d+")


def check_text(text: str) -> None:
    """Check text that is not strict JSON before a JSON repair reads it (linear time):
    brackets outside quoted strings (single or double quotes, as json-repair reads them) nest
    at most :data:`MAX_JSON_DEPTH` levels, and no run of digits outside them is longer than
    :data:`MAX_NUMBER_CHARS`.

    Raises:
        OverBounds: naming the bound passed.
    """
    depth, quote, escaped_at = 0, "", -1
    for match in _TOKENS.finditer(text):
        token = match.group()
        if quote:
            if match.start() == escaped_at:
                continue
            if token == "\\":
                escaped_at = match.end()
            elif token == quote:
                quote = ""
        elif token in ('"', "'"):
            quote = token
        elif token in ("[", "{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise _deep()
        elif token in ("]", "}"):
            depth = max(0, depth - 1)
        elif token != "\\" and len(token) > MAX_NUMBER_CHARS:
            raise _long_number(len(token))
