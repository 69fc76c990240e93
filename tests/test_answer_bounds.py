"""Every reader of a model answer (verdict, carried marks, grouping, eval judge; strict JSON and
json-repair alike) keeps the bounds of reviewgate.core.answer_bounds: a hostile number or
nesting is an ExtractionError naming the bound, never a ValueError or a RecursionError."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviewgate.core.config import SeatConfig
from reviewgate.core.extraction import ExtractionError, extract_model, extract_verdict
from reviewgate.ensemble.grouping import Grouping
from reviewgate.ensemble.questions import AskError, ask_seat
from reviewgate.quality.evaluate import Judgement
from reviewgate.testing import ScriptedProvider

BIG = "1" * 4400  # CPython refuses int() on more than 4,300 digits
MAX_JSON_DEPTH, MAX_NUMBER_CHARS = 32, 64  # reviewgate.core.answer_bounds
DEEP = "[" * 900 + "]" * 900  # under the parser's recursion limit, over every reader's

# reader -> (parse, the field the hostile value goes in)
READERS = {
    "verdict": (lambda text: extract_verdict(text), "confidence"),
    "carried marks": (lambda text: extract_verdict(text, ["C1"]), "carried"),
    "grouping": (lambda text: extract_model(text, Grouping, "grouping"), "groups"),
    "judgement": (lambda text: extract_model(text, Judgement, "judgement"), "match"),
}

# answer shape -> (template with {key} and {value}, hostile value, reason)
HOSTILE = {
    "4,400-digit integer": ('{{"{key}": {value}}}', BIG, "number of 4,400 characters"),
    "4,400-digit integer, repairable": ("{{'{key}': {value},}}", BIG,
                                        "number of 4,400 characters"),
    "4,400-digit integer in a fence": ('```json\n{{"{key}": {value}}}\n```', BIG,
                                       "number of 4,400 characters"),
    "5,000-digit float": ('{{"{key}": 0.{value}}}', "5" * 5000, "number of 5,002 characters"),
    "negative 65-digit integer": ('{{"{key}": -{value}}}', "9" * 65,
                                  "number of 66 characters"),
    "900-deep arrays": ('{{"{key}": {value}}}', DEEP, f"nested deeper than {MAX_JSON_DEPTH}"),
    "900-deep arrays, repairable": ("{{'{key}': {value},}}", DEEP,
                                    f"nested deeper than {MAX_JSON_DEPTH}"),
    "900-deep objects": ('{{"{key}": {value}}}', '{"a": ' * 900 + "1" + "}" * 900,
                         f"nested deeper than {MAX_JSON_DEPTH}"),
    "5,000-deep arrays (past the parser)": ('{{"{key}": {value}}}', "[" * 5000 + "]" * 5000,
                                            f"nested deeper than {MAX_JSON_DEPTH}"),
    "33 levels": ('{{"{key}": {value}}}', "[" * 32 + "]" * 32,
                  f"nested deeper than {MAX_JSON_DEPTH}"),
}


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("shape", HOSTILE)
def test_every_reader_refuses_an_answer_past_a_bound(reader, shape):
    """A number or a nesting past the bounds is an ExtractionError naming the bound, in every
    reader and on both paths (strict JSON, json-repair)."""
    parse, key = READERS[reader]
    template, value, reason = HOSTILE[shape]
    with pytest.raises(ExtractionError, match=reason):
        parse(template.format(key=key, value=value))


def test_answers_at_the_bounds_still_parse():
    """32 levels and a 64-character number are within the bounds: the answer is read (and
    then judged by its model's validation, not refused)."""
    from reviewgate.core import answer_bounds

    assert (answer_bounds.MAX_JSON_DEPTH, answer_bounds.MAX_NUMBER_CHARS) == (32, 64)
    answer_bounds.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)
    assert answer_bounds.loads("9" * MAX_NUMBER_CHARS)[0] == int("9" * MAX_NUMBER_CHARS)
    grouping = extract_model('{"groups": [["F1", "F2"]], "n": ' + "7" * MAX_NUMBER_CHARS + "}",
                             Grouping, "grouping")
    assert grouping.groups == [["F1", "F2"]]
    assert extract_model("{'match': true,}", Judgement, "judgement").match is True


def test_repaired_objects_are_checked_too():
    """What json-repair makes is checked as well: a bracket it reads that the quote-aware scan
    did not count cannot smuggle depth or a long number past the bounds."""
    from reviewgate.core import answer_bounds
    from reviewgate.core.answer_bounds import OverBounds

    with pytest.raises(OverBounds, match="number over 64 digits"):
        answer_bounds.check_value({"a": [10 ** 70]})
    with pytest.raises(OverBounds, match="nested deeper"):
        answer_bounds.check_value(eval("[" * 40 + "]" * 40))
    answer_bounds.check_text("{'t': '" + "[" * 100 + "9" * 100 + "', \"u\": \"\\\"[[\"}")


def test_the_eval_judge_question_fails_with_the_reason_and_its_usage():
    """ask_seat (the eval judge, the grouping) turns an answer past a bound into AskError with
    the reason and the tokens spent, never a crash of the caller."""
    seat = SeatConfig(name="j", provider="openai-compatible", model="m", timeout_s=10)
    provider = ScriptedProvider(seat, {"judgement": ['{"match": ' + BIG + "}"]})
    with pytest.raises(AskError, match="judgement: answer has a number of 4,400") as info:
        asyncio.run(ask_seat(seat, [{"role": "user", "content": "q"}], Judgement,
                             what="judgement", provider=provider))
    assert (info.value.tokens_in, info.value.tokens_out) == (100, 50)


def test_any_other_failure_of_a_question_is_an_ask_error(monkeypatch):
    """An unexpected exception while reading the answer is AskError ("internal error"), so the
    grouping falls back and the judge counts no match instead of ending the run."""
    import reviewgate.ensemble.questions as questions

    def broken(*args):
        raise KeyError("boom")
    monkeypatch.setattr(questions, "extract_model", broken)
    seat = SeatConfig(name="j", provider="openai-compatible", model="m", timeout_s=10)
    provider = ScriptedProvider(seat, {"grouping": ['{"groups": []}']})
    with pytest.raises(AskError, match="grouping: internal error: KeyError"):
        asyncio.run(ask_seat(seat, [{"role": "user", "content": "q"}], Grouping,
                             what="grouping", provider=provider))


@settings(max_examples=150, deadline=None)
@given(depth=st.integers(0, 3000), digits=st.integers(1, 6000), quote=st.sampled_from("\"'"),
       comma=st.sampled_from(["", ","]))
def test_nesting_and_numbers_only_ever_raise_extraction_errors(depth, digits, quote, comma):
    """Whatever the nesting and the number size, strict or repairable, reading an answer gives
    a verdict or an ExtractionError."""
    text = (f"{{{quote}vote{quote}: " + "[" * depth + "1" * digits + "]" * depth
            + f"{comma}}}")
    try:
        extract_verdict(text)
    except ExtractionError:
        pass
