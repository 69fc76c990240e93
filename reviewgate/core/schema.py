"""The shape of a review request: the JSON schema of the verdict (and of any answer model) in
the dialect each provider takes, and where the hat-specific part of the prompt begins.

``full`` for Ollama ``format``, ``strict`` for OpenAI strict mode and Anthropic structured
outputs, ``grammar`` for the embedded model's grammar. Generated from the pydantic models of
:mod:`reviewgate.core.verdict`, so the request and the validation can never drift apart.
Imports: stdlib and pydantic only.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Literal

from pydantic import BaseModel

from .verdict import RoundVerdict, Verdict

__all__ = ["GRAMMAR_MAX_CHARS", "HAT_MARKER", "model_schema", "verdict_schema"]

#: Where the hat-specific part of a review prompt begins (``templates/review.j2``): everything
#: before it is the same for every hat of a seat, the prefix a provider's prompt cache can reuse.
HAT_MARKER = "\nYour hat for this ballot: "

# Keywords that strict structured-output modes reject or ignore (OpenAI strict mode, Anthropic
# structured outputs). Bounds are still enforced: pydantic validates every answer.
_STRICT_UNSUPPORTED = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
                       "maxLength", "maxItems", "minItems", "title", "default"}


# Grammars (the embedded model) get every string capped at GRAMMAR_MAX_CHARS, which bounds how
# long a small model can ramble (a few hundred tokens at about 35 tokens/s on 2 cores; see
# reviewgate.providers.local_worker and reviewgate.providers.llg_grammar). GBNF converters turn
# maxLength into one nested repetition per character, so a 2,000-character bound made a
# grammar llama.cpp refused ("number of rules ... exceeds sane defaults", llama-cpp-python
# 0.3.36); the embedded model's grammar is llguidance's now, but the cap still bounds rambling.
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
