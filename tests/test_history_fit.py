"""The round history must fit a forge's comment (a third of 65,536 characters on every REST
forge). What is cut to fit it must never make the latest round look cleaner than it was (attack
round 3: the latest round's unreviewed files and its blocker were cut to nothing, and the next
push was reviewed incrementally to ``success``), and the spending of rounds that leave the
history stays counted for the pull request budget."""

from __future__ import annotations

from reviewgate.gate.comments import read_rounds, spent_usd
from reviewgate.gate.history import previous_from_rounds
from reviewgate.publish import markers
from reviewgate.publish.render import DECISION_MARKER, Round, round_record

LIMIT = 65_536
SHA = "a" * 40


def finding(i: int) -> dict:
    return {"s": "blocker" if i == 0 else "low", "t": f"finding {i} " + "t" * 200,
            "l": f"src/f{i}.py:1", "x": "x" * 280, "i": i,
            "m": [[s, h, "low"] for s in "abc" for h in ("tech", "product")]}


def older(i: int, outcome_items: int) -> Round:
    return Round(head_sha=f"{i:040x}", decision="merge", tallies="t", fired_by="ci",
                 at="2026-12-01T00:00:00+00:00", merge_base="b" * 40, cost=0.05,
                 spent=round(0.05 * (i + 1), 6),
                 outcome={"n": [[k, [["a", "tech", "low"]] * 6] for k in range(outcome_items)],
                          "r": [], "d": [], "c": [["a", "tech", 0.01]]})


def latest(findings: int, unreviewed: int, spent: float = 0.0) -> Round:
    return Round(head_sha=SHA, decision="defer", tallies="t", fired_by="ci",
                 at="2026-12-02T00:00:00+00:00", merge_base="b" * 40, config="c",
                 findings=[finding(i) for i in range(findings)],
                 unreviewed=[f"vendor/{'é' * 90}/{i}.so" for i in range(unreviewed)],
                 cost=0.05, spent=spent, outcome={"n": [], "r": [], "d": [], "c": []})


def body_for(rounds: list[Round]) -> str:
    return markers.compose(DECISION_MARKER, "## Review decision\n\nx",
                           [round_record(r) for r in rounds], limit=LIMIT)


def test_older_rounds_are_cut_before_the_latest_rounds_findings():
    """Large ledger entries of older rounds are shortened (and say so) before anything of the
    latest round: its blocker and its unreviewed file are kept whole."""
    rounds = [older(i, 120) for i in range(8)] + [latest(findings=3, unreviewed=1)]
    body = body_for(rounds)
    assert len(body) <= LIMIT
    back = read_rounds(body)
    assert back[-1].cut is None
    assert [f["s"] for f in back[-1].findings] == ["blocker", "low", "low"]
    assert len(back[-1].unreviewed) == 1
    assert any("outcome" in (r.cut or []) for r in back[:-1])
    previous = previous_from_rounds(back)
    assert previous.problem == "" and previous.unreviewed and len(previous.findings) == 3


def test_a_latest_round_cut_to_fit_is_not_built_upon():
    """When the latest round's own lists must be cut, the round says so and the next round is
    whole: nothing it lost (a blocker, a file no seat saw) can be skipped by an increment."""
    body = body_for([latest(findings=120, unreviewed=200)])
    assert len(body) <= LIMIT
    [back] = read_rounds(body)
    assert set(back.cut) >= {"findings"}
    assert len(back.findings) < 120
    previous = previous_from_rounds([back])
    assert "cut to fit the comment" in previous.problem


def test_spending_of_rounds_that_left_the_history_stays_counted():
    """The pull request budget reads the running total, not the kept rounds' costs."""
    rounds = [older(i, 1) for i in range(10)]
    assert abs(spent_usd(rounds[-3:]) - 0.5) < 1e-9  # three kept rounds, ten paid for
    assert abs(spent_usd([Round(head_sha=SHA, decision="merge", tallies="", fired_by="",
                                at="", cost=0.2)] * 2) - 0.4) < 1e-9  # no running totals yet
    assert spent_usd([]) == 0.0
    broken = Round(head_sha=SHA, decision="merge", tallies="", fired_by="", at="",
                   cost="x", spent=float("nan"))  # type: ignore[arg-type]
    assert spent_usd([broken]) == 0.0
