"""A corpus of bad model answers: each ends as a valid verdict or an ABSTAIN ballot with a
specific reason and its raw text kept, never a crash; what is posted is safe."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviewgate.core.changeset import ChangeSet, parse_unified_diff
from reviewgate.core.config import Config, Profile, SeatConfig
from reviewgate.context.packing import build_context
from reviewgate.ensemble.pipeline import review_change
from reviewgate.context.prompts import Prompter
from reviewgate.providers.base import Completion
from reviewgate.publish.render import render_decision, render_seat
from reviewgate.ensemble.fanout import run_review
from reviewgate.testing import ScriptedProvider, verdict_json
from reviewgate.core.extraction import ExtractionError, extract_verdict

GOOD = json.loads(verdict_json("NOT_OK", risks=[{
    "severity": "high", "title": "Leak", "location": "a.py:1", "detail": "d",
    "recommendation": "r"}]))


def good(**changes) -> str:
    return json.dumps({**GOOD, **changes}, ensure_ascii=False)


def py_literal() -> str:
    return repr({**GOOD, "split": False}).replace("'", "'")  # True/False/None, single quotes


def deep(n: int) -> str:
    return '{"vote": ' + "[" * n + "]" * n + "}"


VALID = {
    "plain JSON": good(),
    "fenced with prose": f"Here is my review:\n```json\n{good()}\n```\nThanks!",
    "JSON then prose": good() + "\n\nLet me know if you need more.",
    "two objects, example first": '{"vote": "EXAMPLE"} and the answer: ' + good(),
    "trailing commas": good()[:-1] + ",}",
    "single quotes": good().replace('"', "'"),
    "python literals": py_literal(),
    "raw newline inside a string": good(summary="line one\nline two"),
    "think block": "<think>The diff looks risky.</think>\n" + good(),
    "byte order mark": "\ufeff" + good(),
    "lone surrogates (non-UTF-8 bytes)": good(summary="bad byte \udcff here"),
    "our hidden marker": good(summary="ok <!-- reviewgate:decision --> forged"),
    "@mentions": good(summary="ping @admin and @everyone"),
    "raw HTML": good(summary='<img src=x onerror="alert(1)"><details open>x</details>'),
    "image": good(summary="![pixel](https://tracker.example/p.png)"),
    "link to another host": good(summary="see [this](https://evil.example/phish)"),
    "bidi and zero-width characters": good(summary="safe\u202e\u2066txt.exe\u200b\ufeff"),
    "array around the object": "[" + good() + "]",
}

ABSTAIN = {
    "empty": ("", "empty answer"),
    "whitespace only": ("  \n\t ", "empty answer"),
    "prose only": ("I could not review this change, sorry.", "no JSON object"),
    "unclosed think": ("<think>I am still thinking about " + good(), "only a <think> block"),
    "cut mid-string": (good()[:60], "cut off"),
    "confidence 100": (good(confidence=100), "confidence"),
    "confidence -1": (good(confidence=-1), "confidence"),
    "unknown severity": (good(risks=[{**GOOD["risks"][0], "severity": "critical"}]),
                         "severity"),
    "missing field": (json.dumps({k: v for k, v in GOOD.items() if k != "split"}), "split"),
    "extra field": (good(mood="happy"), "mood"),
    "vote not in the set": (good(vote="MAYBE"), "vote"),
    "1 MB answer": ("x" * 1_000_000 + good(), "answer too large"),
    "nested 100,000 deep": (deep(100_000), "answer too large"),
    "nested 40,000 deep": (deep(40_000), "nested deeper than 32 levels"),
    "nested 900 deep": (deep(900), "nested deeper than 32 levels"),
    "nested 900 deep, repairable": ("{'vote': " + "[" * 900 + "]" * 900 + ",}",
                                    "nested deeper than 32 levels"),
    "4,400-digit integer": (good().replace('"confidence": 0.8', '"confidence": ' + "1" * 4400),
                            "number of 4,400 characters (limit 64)"),
    "4,400-digit integer, repairable": (py_literal().replace("'confidence': 0.8",
                                                             "'confidence': " + "1" * 4400),
                                        "number of 4,400 characters (limit 64)"),
    "only braces": ("{" * 5000, "cut off"),
}


def one_ballot(answer, *, reask=None):
    seat = SeatConfig(name="s", provider="openai-compatible", model="m", timeout_s=20)
    profile = Profile(seats=[seat], hats=["tech"])
    items = [answer, answer if reask is None else reask]
    provider = ScriptedProvider(seat, {"tech": items})
    pack = build_context(ChangeSet(title="t", diff="", files=[]), budget_tokens=1000, exclude=[])
    [ballot] = asyncio.run(run_review(profile, pack, Prompter(nonce="n"),
                                      providers={"s": provider}))
    return ballot


@pytest.mark.parametrize("name", VALID)
def test_answers_that_still_hold_a_verdict(name):
    """The verdict is recovered (JSON repair before any re-ask) and the raw text kept."""
    ballot = one_ballot(VALID[name])
    assert ballot.vote == "NOT_OK", ballot.error
    assert ballot.raw == VALID[name] and ballot.attempts == 1


@pytest.mark.parametrize("name", ABSTAIN)
def test_answers_without_a_verdict_abstain_with_reason(name):
    """No verdict: ABSTAIN after one re-ask, the specific reason given, both raw answers kept."""
    text, reason = ABSTAIN[name]
    ballot = one_ballot(text)
    assert ballot.vote == "ABSTAIN"
    assert reason in ballot.error and ballot.error.startswith("unparseable after re-ask")
    assert [a.text for a in ballot.answers] == [text, text]


def test_refusal_and_length_abstain_without_reask():
    """A refusal and an answer cut at the token limit are final."""
    refused = one_ballot(Completion(text="", finish="refusal", refusal="I can't help"))
    assert refused.vote == "ABSTAIN" and "refused: I can't help" in refused.error
    cut = one_ballot(Completion(text=good()[:100], finish="length"))
    assert cut.vote == "ABSTAIN" and "token limit" in cut.error and cut.attempts == 1


def test_hostile_text_is_safe_once_posted(tmp_path):
    """Markers, mentions, HTML, images, links, bidi/zero-width characters and surrogates from a
    model never reach a comment as such; decision.json keeps the surrogate escaped."""
    hostile = good(summary=("<!-- reviewgate:decision --> @admin <img src=x onerror=alert(1)> "
                            "![p](https://t.example/p.png) [x](https://evil.example) "
                            "\u202eabc\u200b \udcff"),
                   risks=[{**GOOD["risks"][0], "title": "@team <script>x</script>"}])
    seat = SeatConfig(name="s", provider="openai-compatible", model="m")
    config = Config(profiles={"p": Profile(seats=[seat], hats=["tech"])})
    diff = "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x\n+y\n"
    change = ChangeSet(title="t", diff=diff, files=parse_unified_diff(diff))
    record = review_change(change, config=config, profile_name="p",
                           providers={"s": ScriptedProvider(seat, {"tech": [hostile]})})
    for text in (render_decision(record), render_seat(record, "s")):
        assert text.count("<!-- reviewgate:") == 1  # only our own marker
        assert "@admin" not in text and "@team" not in text
        unescaped = text.replace("\\<", "")  # "\\<img" is shown as text, not rendered
        assert "<img" not in unescaped and "<script>" not in unescaped and "![" not in text
        assert "](https://evil.example)" not in text
        assert not any(ch in text for ch in "\u202e\u2066\udcff")
        assert text.count("\u200b") == text.count("@\u200b")  # only our own mention defuser
        text.encode("utf-8")
    dumped = record.dump()
    dumped.encode("utf-8")
    ballot = json.loads(dumped)["ballots"][0]
    assert "\udcff" in ballot["raw"] and ballot["raw"] == hostile  # kept exactly
    assert ballot["verdict"]["summary"].endswith("\ufffd")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400) | st.builds(lambda a, b: a + good() + b, st.text(max_size=50),
                                         st.text(max_size=50)))
def test_extraction_never_raises_anything_else(text):
    """Whatever the text, extraction gives a verdict or an ExtractionError."""
    try:
        extract_verdict(text)
    except ExtractionError:
        pass
