"""The decision policy (DESIGN.md section 4): examples and properties."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from reviewgate.core.config import Policy
from reviewgate.core.decision import decide
from reviewgate.core.verdict import Ballot, Finding, Verdict

HATS = ["tech", "product"]


def ballot(seat: str, hat: str, vote: str = "OK", *, risks=(), split=False,
           confidence: float = 0.8) -> Ballot:
    if vote == "ABSTAIN":
        return Ballot(seat=seat, hat=hat, provider="p", model="m", vote="ABSTAIN",
                      error="timeout after 60 s")
    verdict = Verdict(vote=vote, confidence=confidence, summary="s", risks=list(risks),
                      opportunities=[], split=split, suggested_split=[], questions=[])
    return Ballot(seat=seat, hat=hat, provider="p", model="m", vote=vote, verdict=verdict)


def finding(severity: str = "blocker", title: str = "SSL context breaks custom adapters",
            location: str = "src/requests/adapters.py:80") -> Finding:
    return Finding(severity=severity, title=title, location=location, detail="d",
                   recommendation="r")


def run(ballots, policy=None, lines=50, files=2):
    return decide(ballots, policy or Policy(), hats=HATS, changed_lines=lines,
                  changed_files=files)


def all_ok():
    return [ballot(s, h) for s in "abc" for h in HATS]


def test_all_ok_merges():
    """Six OK ballots without blockers merge with status success."""
    d = run(all_ok())
    assert (d.decision, d.state) == ("merge", "success")
    assert d.tally_line() == "Tech: 3/3 OK · Product: 3/3 OK"


def test_single_blocker_defers_and_is_listed():
    """One blocker from one ballot defers and is reported as a single-reviewer blocker."""
    ballots = all_ok()
    ballots[0] = ballot("a", "tech", risks=[finding()])
    d = run(ballots)
    assert (d.decision, d.state) == ("defer", "failure")
    assert [c.raised_by for c in d.single_blockers] == [["tech-a"]]


def test_corroborated_mode_turns_single_blocker_into_question():
    """With blockers='corroborated' a lone blocker does not defer but becomes a question."""
    ballots = all_ok()
    ballots[0] = ballot("a", "tech", risks=[finding()])
    d = run(ballots, Policy(blockers="corroborated"))
    assert d.decision == "merge"
    assert any("single-reviewer blocker" in q for q in d.questions)


def test_similar_findings_at_same_place_are_corroborated():
    """Same file, nearby lines and a similar title cluster into one corroborated finding."""
    ballots = all_ok()
    ballots[0] = ballot("a", "tech", risks=[finding("high")])
    ballots[2] = ballot("b", "tech", risks=[finding("medium", "Custom adapters break with the "
                                                     "SSL context", "src/requests/adapters.py:84")])
    ballots[4] = ballot("c", "tech", risks=[finding("high", "Unrelated typo", "README.md:3")])
    d = run(ballots)
    assert d.decision == "merge"
    [corr] = d.corroborated
    assert corr.severity == "high" and corr.raised_by == ["tech-a", "tech-b"]
    assert [c.title for c in d.single_high] == ["Unrelated typo"]


def test_hat_majority_not_ok_defers():
    """A hat with more NOT_OK than OK votes defers; dissents list who and how sure."""
    ballots = all_ok()
    ballots[1] = ballot("a", "product", "NOT_OK", confidence=0.9)
    ballots[3] = ballot("b", "product", "NOT_OK", confidence=0.6)
    d = run(ballots)
    assert d.decision == "defer"
    assert [(x.hat, x.seat, x.confidence) for x in d.dissents] == [
        ("product", "a", 0.9), ("product", "b", 0.6)]


def test_one_dissent_does_not_defer():
    """A single NOT_OK against two OK in its hat still merges (and is listed as a dissent)."""
    ballots = all_ok()
    ballots[1] = ballot("a", "product", "NOT_OK")
    d = run(ballots)
    assert d.decision == "merge" and len(d.dissents) == 1


def test_a_tie_never_merges():
    """One OK, one NOT_OK and one abstention in each hat meets quorum 2 but ties: defer, and
    the reason says it is a tie."""
    ballots = [ballot("a", h) for h in HATS] + [ballot("b", h, "NOT_OK") for h in HATS] + \
        [ballot("c", h, "ABSTAIN") for h in HATS]
    d = run(ballots)
    assert d.decision == "defer"
    assert "tech hat: 1 NOT_OK vs 1 OK (a tie never merges)" in d.reasons


def test_quorum_failure_is_error_with_reasons():
    """Two abstentions in one hat leave 1 voting ballot < quorum 2: error, reasons say why."""
    ballots = all_ok()
    ballots[0] = ballot("a", "tech", "ABSTAIN")
    ballots[2] = ballot("b", "tech", "ABSTAIN")
    d = run(ballots)
    assert (d.decision, d.state) == ("error", "error")
    assert d.reasons[0].startswith("2 of 6 ballots abstained")
    assert "tech-a: timeout after 60 s" in d.reasons


def test_abstain_never_counts_as_ok():
    """With one abstention per hat, tallies show 2/3 OK, not 3/3."""
    ballots = all_ok()
    ballots[0] = ballot("a", "tech", "ABSTAIN")
    d = run(ballots)
    assert d.decision == "merge" and d.tallies[0].ok == 2 and d.tallies[0].total == 3


def test_oversized_defer_becomes_split():
    """A deferred change above 400 changed lines is a split."""
    ballots = all_ok()
    ballots[0] = ballot("a", "tech", risks=[finding()])
    assert run(ballots, lines=1833, files=20).decision == "split"
    assert run(ballots, lines=100, files=3).decision == "defer"


def test_two_split_suggestions_turn_defer_into_split():
    """Two ballots suggesting a split turn a defer into split even for a small change."""
    ballots = all_ok()
    ballots[0] = ballot("a", "tech", "NOT_OK", split=True)
    ballots[2] = ballot("b", "tech", "NOT_OK", split=True)
    assert run(ballots).decision == "split"


def test_oversized_but_approved_still_merges():
    """Split replaces defer only: a large change everyone approves merges."""
    assert run(all_ok(), lines=5000, files=40).decision == "merge"


def test_missing_hat_is_below_quorum():
    """A configured hat with no ballots at all fails quorum."""
    d = decide([ballot(s, "tech") for s in "abc"], Policy(), hats=HATS, changed_lines=1,
               changed_files=1)
    assert d.decision == "error"


# --- properties ------------------------------------------------------------------------------

severities = st.sampled_from(["blocker", "high", "medium", "low"])
findings = st.builds(finding, severities, st.sampled_from(["A thing", "Another thing", "Null "
                                                           "deref", "Race"]),
                     st.sampled_from(["a.py:1", "a.py:50", "b.py", ""]))


@st.composite
def ballot_sets(draw):
    seats = draw(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=4, unique=True))
    out = []
    for seat in seats:
        for hat in HATS:
            vote = draw(st.sampled_from(["OK", "NOT_OK", "ABSTAIN"]))
            risks = draw(st.lists(findings, max_size=3)) if vote != "ABSTAIN" else []
            out.append(ballot(seat, hat, vote, risks=risks, split=draw(st.booleans()),
                              confidence=draw(st.floats(0, 1))))
    return out


@settings(max_examples=300, deadline=None)
@given(ballot_sets(), st.integers(0, 2000), st.integers(0, 30))
def test_any_blocker_never_merges(ballots, lines, files):
    """A blocker in any non-abstaining ballot means the decision is never merge."""
    d = run(ballots, lines=lines, files=files)
    if any(f.severity == "blocker" for b in ballots if b.verdict for f in b.verdict.risks):
        assert d.decision != "merge"


@settings(max_examples=300, deadline=None)
@given(ballot_sets())
def test_below_quorum_is_error(ballots):
    """If any hat has fewer than 2 voting ballots the decision is error, and only then."""
    d = run(ballots)
    short = any(sum(1 for b in ballots if b.hat == h and b.vote != "ABSTAIN") < 2 for h in HATS)
    assert (d.decision == "error") == short
    assert d.state == {"merge": "success", "defer": "failure", "split": "failure",
                       "error": "error"}[d.decision]


@settings(max_examples=300, deadline=None)
@given(ballot_sets(), st.randoms(use_true_random=False), st.integers(0, 2000))
def test_order_does_not_matter(ballots, rnd: random.Random, lines):
    """Shuffling ballots (and so seats and hats) changes nothing in the decision."""
    first = run(ballots, lines=lines)
    shuffled = list(ballots)
    rnd.shuffle(shuffled)
    hats = list(HATS)
    rnd.shuffle(hats)
    second = decide(shuffled, Policy(), hats=hats, changed_lines=lines, changed_files=2)
    assert first.decision == second.decision
    assert first.reasons == second.reasons
    assert [(c.title, c.raised_by) for c in first.clusters] == [
        (c.title, c.raised_by) for c in second.clusters]
    assert first.dissents == second.dissents and first.questions == second.questions


@settings(max_examples=300, deadline=None)
@given(ballot_sets())
def test_a_hat_without_an_ok_majority_never_merges(ballots):
    """Property: merge only when every hat has more OK than NOT_OK votes."""
    d = run(ballots)
    if any(sum(b.vote == "NOT_OK" for b in ballots if b.hat == h)
           >= sum(b.vote == "OK" for b in ballots if b.hat == h) for h in HATS):
        assert d.decision != "merge"


# --- agreement decides: defer_on_corroborated ----------------------------------------------------

HIGH_RACE = dict(severity="high", title="Race on the shared session cache",
                 location="src/session.py:51")


def _high(severity="high", title=HIGH_RACE["title"], location=HIGH_RACE["location"]):
    return finding(severity, title, location)


def test_a_high_finding_two_seats_agree_on_defers_with_the_reason():
    """Two seats raise the same high finding and every hat votes OK: defer, and the reason names
    the finding, its median severity and the ballots that raised it."""
    ballots = all_ok()
    ballots[0] = ballot("a", "tech", risks=[_high()])
    ballots[2] = ballot("b", "tech", risks=[_high()])
    d = run(ballots)
    assert d.decision == "defer" and [c.title for c in d.agreed] == [HIGH_RACE["title"]]
    [reason] = d.reasons
    assert "two or more seats agree on, at high severity or above" in reason
    assert "Race on the shared session cache [high] (tech-a, tech-b)" in reason


def test_one_seats_high_finding_does_not_defer():
    """The same finding from one seat in both hats is one reviewer: listed, not deferring."""
    ballots = all_ok()
    ballots[0] = ballot("a", "tech", risks=[_high()])
    ballots[1] = ballot("a", "product", risks=[_high()])
    d = run(ballots)
    assert d.decision == "merge" and d.agreed == []
    assert [c.title for c in d.single_high] == [HIGH_RACE["title"]]


def test_median_severity_of_a_mixed_cluster():
    """Seats count once with their most severe finding; the median of the seats, the less
    severe middle one for an even count: (blocker, low) -> low; (high, medium, low) -> medium;
    (blocker, high, low) -> high."""
    def cluster_of(*severities):
        ballots = [ballot(seat, "tech", risks=[_high(sev)])
                   for seat, sev in zip("abc", severities, strict=False)]
        ballots += [ballot(s, "product") for s in "abc"]
        [c] = run(ballots, Policy(defer_on_corroborated="off")).clusters
        return c.median_severity
    assert cluster_of("blocker", "low") == "low"
    assert cluster_of("high", "medium", "low") == "medium"
    assert cluster_of("blocker", "high", "low") == "high"


def test_medium_agreement_defers_only_when_the_policy_says_medium():
    """Two seats agreeing on a medium finding: merge under the default (high), defer under
    defer_on_corroborated = "medium"; "off" never defers on agreement."""
    ballots = all_ok()
    ballots[0] = ballot("a", "tech", risks=[_high("medium")])
    ballots[2] = ballot("b", "tech", risks=[_high("medium")])
    assert run(ballots).decision == "merge"
    assert run(ballots, Policy(defer_on_corroborated="medium")).decision == "defer"
    ballots[0] = ballot("a", "tech", risks=[_high("high")])
    ballots[2] = ballot("b", "tech", risks=[_high("high")])
    assert run(ballots, Policy(defer_on_corroborated="off")).decision == "merge"


@settings(max_examples=300, deadline=None)
@given(ballot_sets(), st.integers(0, 2000), st.integers(0, 30))
def test_blocker_setting_reproduces_the_decisions_before_the_rule(ballots, lines, files):
    """Property: defer_on_corroborated = "blocker" decides exactly as the rules before it
    (blockers and hat majorities only): the agreement rule adds nothing there."""
    with_rule = run(ballots, Policy(defer_on_corroborated="blocker"), lines=lines, files=files)
    without = run(ballots, Policy(defer_on_corroborated="off"), lines=lines, files=files)
    assert (with_rule.decision, with_rule.reasons) == (without.decision, without.reasons)
