"""The embedded model's grammar of the verdict schema: one optional space between tokens (what
the 270M model answered within before the runtime changed), every bound kept, and nothing the
converter does not understand turned into a grammar that allows more."""

from __future__ import annotations

import re

import pytest

from reviewgate.core.schema import verdict_schema
from reviewgate.providers.gbnf import schema_grammar


def rules(text: str) -> dict[str, str]:
    """name -> body of each GBNF rule."""
    return dict(line.split(" ::= ", 1) for line in text.splitlines())


def test_the_verdict_grammar_keeps_order_bounds_and_a_single_space():
    """Properties in the schema's order, strings capped at 160 characters (the summary at
    least one), at most 8 risks, confidence as its eleven literals, one optional space."""
    grammar = rules(schema_grammar(verdict_schema("grammar")))
    keys = re.findall(r'"\\"([a-z_]+)\\""', grammar["root"])
    assert keys == ["vote", "confidence", "summary", "risks", "opportunities", "split",
                    "suggested_split", "questions"]
    assert grammar["space"] == '" "?'
    assert "char{1,160}" in grammar["summary"] and "char{0,160}" in grammar["risks-item-detail"]
    assert "{0,7}" in grammar["risks"]
    assert re.findall(r'"(\d\.\d)"', grammar["confidence"]) == [f"{i / 10:.1f}" for i in
                                                                range(11)]
    assert grammar["vote"] == '("\\"OK\\"" | "\\"NOT_OK\\"") space'


def test_the_carried_verdict_grammar_converts_too():
    """The incremental round's schema (findings carried from the previous round) converts."""
    grammar = rules(schema_grammar(verdict_schema("grammar", carried=True)))
    assert "carried" in grammar["root"]


@pytest.mark.parametrize("schema, why", [
    ({"type": "string"}, "maxLength"),
    ({"type": "array", "items": {"type": "boolean"}}, "maxItems"),
    ({"type": "object", "properties": {"a": {"type": "boolean"}}, "required": [],
      "additionalProperties": False}, "required"),
    ({"type": "object", "properties": {"a": {"type": "boolean"}}, "required": ["a"]},
     "required"),
    ({"anyOf": [{"type": "boolean"}]}, "unsupported"),
    ({"type": "number"}, "unsupported"),
])
def test_a_shape_the_converter_does_not_know_is_refused(schema, why):
    """An unbounded string or array, an optional property, open objects, anyOf, a free
    number: ValueError, never a grammar looser than the schema."""
    with pytest.raises(ValueError, match=why):
        schema_grammar(schema)
