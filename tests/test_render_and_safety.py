"""Rendering of untrusted model text, secret redaction and the import direction."""

from __future__ import annotations

from pathlib import Path


from reviewgate.core.changeset import ChangeSet, parse_unified_diff
from reviewgate.core.config import Config, Profile, SeatConfig
from reviewgate.core.errors import ProviderHTTPError, redact
from reviewgate.ensemble.pipeline import review_change
from reviewgate.publish.render import render_decision, render_seat, sanitize, status_description
from reviewgate.testing import ScriptedProvider, verdict_json

PKG = Path(__file__).parent.parent / "reviewgate"


def test_sanitize_strips_markers_and_mentions():
    """Model text cannot smuggle our hidden markers, HTML comments or @-pings into a comment."""
    text = "ok <!-- reviewgate:decision --> then @alice and reviewgate:seat:x | pipe"
    out = sanitize(text, cell=True)
    assert "<!--" not in out and "reviewgate:decision" not in out and "reviewgate:seat" not in out
    assert "@\u200balice" in out and "\\|" in out


def record_with(answers: dict[str, list[str]]):
    diff = "--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-a\n+b\n"
    seats = [SeatConfig(name=n, provider="openai", model="m") for n in "ab"]
    config = Config(profiles={"p": Profile(seats=seats, policy={"quorum": 1})})
    providers = {s.name: ScriptedProvider(s, {h: list(answers.get(f"{s.name}-{h}", [
        verdict_json()])) for h in ("tech", "product")}) for s in seats}
    return review_change(ChangeSet(title="t", diff=diff, files=parse_unified_diff(diff)),
                         config=config, profile_name="p", providers=providers)


def test_comments_show_matrix_findings_and_abstain_reason():
    """The decision comment has the seats x hats table; a seat comment shows risks with
    severity, location and recommendation, a split suggestion, and an abstain's reason."""
    risk = {"severity": "high", "title": "Leaks <!-- reviewgate:decision -->", "detail": "d",
            "location": "app.py:1", "recommendation": "Use a context manager"}
    record = record_with({
        "a-tech": [verdict_json("NOT_OK", 0.7, risks=[risk], split=True)],
        "b-product": ["no json", "still none"]})
    decision = render_decision(record)
    assert "| seat | tech | product |" in decision
    assert "| `a` | ❌ NOT_OK 0.70 | ✅ OK 0.80 |" in decision
    assert decision.count("<!-- reviewgate:decision -->") == 1
    seat_a = render_seat(record, "a")
    assert "`high` — **Leaks**" in seat_a and "`app.py:1`" in seat_a
    assert "Use a context manager" in seat_a and "Suggests a split: part one; part two" in seat_a
    seat_b = render_seat(record, "b")
    assert "ABSTAIN" in seat_b and "unparseable after re-ask" in seat_b
    assert len(status_description(record)) <= 140


def test_redact_hides_env_secrets(monkeypatch):
    """Values of *_TOKEN / *_KEY variables never survive into error text."""
    monkeypatch.setenv("SOME_API_KEY", "abcdef123456")
    assert redact("failed with abcdef123456 in url") == "failed with *** in url"
    err = ProviderHTTPError(401, "bad key abcdef123456")
    assert "abcdef123456" not in str(err)


def test_public_api_is_curated():
    """reviewgate.__all__ is sorted and every name exists."""
    import reviewgate
    assert reviewgate.__all__ == sorted(reviewgate.__all__)
    for name in reviewgate.__all__:
        assert hasattr(reviewgate, name)


def test_empty_opportunities_and_split_parts_are_not_listed():
    """A tiny model's blank list items never become empty bullets or "; ; ."."""
    answer = verdict_json(split=True).replace('"opportunities": []', '"opportunities": ["", " "]')
    answer = answer.replace('["part one", "part two"]', '["", "  "]')
    body = render_seat(record_with({"a-tech": [answer]}), "a")
    assert "Opportunities" not in body and "\n- \n" not in body
    assert "Suggests a split." in body and "; ;" not in body
