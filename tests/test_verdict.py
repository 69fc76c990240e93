"""Verdict extraction and the schema sent to providers."""

from __future__ import annotations

import json

import pytest

from reviewgate.testing import verdict_json
from reviewgate.core.extraction import ExtractionError, extract_verdict
from reviewgate.core.verdict import Verdict, verdict_schema


def test_plain_json():
    """A bare JSON object parses."""
    assert extract_verdict(verdict_json("NOT_OK", 0.3)).vote == "NOT_OK"


def test_prose_and_fence():
    """Prose around a ```json fence is ignored."""
    text = "Sure! Here is my review:\n```json\n" + verdict_json("OK", 0.9) + "\n```\nThanks."
    assert extract_verdict(text).confidence == 0.9


def test_unclosed_think_swallows_rest():
    """An unclosed <think> block hides everything after it: no verdict."""
    with pytest.raises(ExtractionError):
        extract_verdict("<think>" + verdict_json())


def test_confidence_out_of_range_rejected():
    """confidence 100 or 1e15 (seen from small models) fails validation, naming the field."""
    for bad in (100, 1e15, -0.1):
        with pytest.raises(ExtractionError) as info:
            extract_verdict(verdict_json(confidence=bad))
        assert "confidence" in info.value.errors


def test_extra_fields_and_bad_literals_rejected():
    """Extra keys and unknown votes/severities are errors, not silently dropped."""
    data = json.loads(verdict_json())
    with pytest.raises(ExtractionError):
        extract_verdict(json.dumps({**data, "extra": 1}))
    with pytest.raises(ExtractionError):
        extract_verdict(json.dumps({**data, "vote": "APPROVE"}))
    risk = {"severity": "critical", "title": "t", "location": "", "detail": "",
            "recommendation": ""}
    with pytest.raises(ExtractionError):
        extract_verdict(json.dumps({**data, "risks": [risk]}))


def test_truncated_json_is_not_repaired():
    """A cut-off object is not completed (a JSON repair would invent the rest)."""
    with pytest.raises(ExtractionError, match="cut off"):
        extract_verdict(verdict_json()[:-20])


def test_second_object_used_when_first_invalid():
    """An example object before the real answer does not hide the answer."""
    assert extract_verdict('{"example": true} then ' + verdict_json("OK", 0.4)).confidence == 0.4


def test_strict_schema_shape():
    """The strict dialect: every object closed and fully required, no unsupported bounds."""
    schema = verdict_schema("strict")
    text = json.dumps(schema)
    assert "$ref" not in text and "maximum" not in text and "maxItems" not in text
    risk = schema["properties"]["risks"]["items"]
    assert risk["additionalProperties"] is False
    assert set(risk["required"]) == set(risk["properties"]) == set(
        Verdict.model_fields["risks"].annotation.__args__[0].model_fields)
    assert set(schema["required"]) == set(Verdict.model_fields)


def test_grammar_schema_keeps_array_bounds_only():
    """llama.cpp grammars get array bounds and short string caps (long ones break its parser)."""
    schema = verdict_schema("grammar")
    text = json.dumps(schema)
    assert "maxItems" in text and '"maxLength": 160' in text and '"maxLength": 2000' not in text
    assert verdict_schema("full")["properties"]["confidence"]["maximum"] == 1.0


def test_grammar_confidence_is_a_closed_set_of_valid_values():
    """The grammar dialect offers confidence only as 0.0..1.0 literals, all of which validate."""
    values = verdict_schema("grammar")["properties"]["confidence"]["enum"]
    assert values[0] == 0.0 and values[-1] == 1.0 and len(values) == 11
    for v in values:
        assert extract_verdict(verdict_json(confidence=v)).confidence == v
