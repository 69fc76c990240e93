"""The embedded model's grammar of the verdict schema (llguidance's Lark syntax): one optional
space between tokens (what the 270M model answered within before the runtime changed), every
bound kept, and nothing the converter does not understand turned into a grammar that allows
more. The model tests (tests/test_local.py) run it in llama.cpp's server."""

from __future__ import annotations

import json
import re

import pytest

from reviewgate.core.schema import verdict_schema
from reviewgate.providers.llg_grammar import STRING_CHAR, schema_grammar


def rules(text: str) -> dict[str, str]:
    """name -> body of each Lark rule (after the ``%llguidance`` line)."""
    head, *lines = text.splitlines()
    assert head == "%llguidance {}"
    return dict(line.split(": ", 1) for line in lines)


def string_terminal(body: str) -> re.Pattern[str]:
    """The ``/.../`` terminal of a string rule as a Python regex (the syntax is shared)."""
    match = re.fullmatch(r"/(.*)/ space", body)
    assert match, body
    return re.compile(match[1])


def test_the_verdict_grammar_keeps_order_bounds_and_a_single_space():
    """Properties in the schema's order, strings capped at 160 characters (the summary at
    least one), at most 8 risks, confidence as its eleven literals, one optional space."""
    grammar = rules(schema_grammar(verdict_schema("grammar")))
    keys = re.findall(r'"\\"([a-z_]+)\\""', grammar[grammar["start"]])
    assert keys == ["vote", "confidence", "summary", "risks", "opportunities", "split",
                    "suggested_split", "questions"]
    assert grammar["space"] == '" "?'
    assert grammar["summary"].endswith("{1,160}\"/ space")
    assert grammar["risks_item_detail"].endswith("{0,160}\"/ space")
    assert "{0,7}" in grammar["risks"]
    assert re.findall(r'"(\d\.\d)"', grammar["confidence"]) == [f"{i / 10:.1f}" for i in
                                                                range(11)]
    assert grammar["vote"] == '("\\"OK\\"" | "\\"NOT_OK\\"") space'


def test_a_string_is_json_text_within_its_bounds():
    """The string terminal takes what json.dumps writes, up to the bound in code points, and
    refuses a raw control character, a lone backslash, an unclosed quote and one more
    character than the bound."""
    summary = string_terminal(rules(schema_grammar(verdict_schema("grammar")))["summary"])
    for text in ["x", "é" * 160, 'a "quoted" \\ path\nnext\ttab', "\x00\u2028", "/"]:
        assert summary.fullmatch(json.dumps(text, ensure_ascii=False)), text
        assert summary.fullmatch(json.dumps(text)), text
    for raw in ['""', json.dumps("x" * 161), '"a\nb"', '"\x7f"', '"a\tb"', '"a\\"', '"\\q"', '"a',
                '"\\u12"']:
        assert not summary.fullmatch(raw), raw
    assert re.fullmatch(STRING_CHAR, "\\u00e9") and not re.fullmatch(STRING_CHAR, "\x1f")


def test_a_property_cannot_take_the_start_rule():
    """A property named like the grammar's own rules gets a rule of its own: the start rule
    stays the whole object."""
    schema = {"type": "object", "additionalProperties": False, "required": ["start", "space"],
              "properties": {"start": {"type": "boolean"},
                             "space": {"type": "string", "maxLength": 3}}}
    grammar = rules(schema_grammar(schema))
    start = grammar[grammar["start"]]
    assert start.startswith('"{" space "\\"start\\""') and grammar["space"] == '" "?'


def test_the_carried_verdict_grammar_converts_too():
    """The incremental round's schema (findings carried from the previous round) converts."""
    grammar = rules(schema_grammar(verdict_schema("grammar", carried=True)))
    assert "carried" in grammar[grammar["start"]]


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
