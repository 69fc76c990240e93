"""``reviewgate eval`` on a dataset built from a repository's history, live with scripted seats:
the recall of the human comments, the false-block share, cost per pull request and the
per-seat figures, each checked against values computed by hand; a second run is free."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from history import HEAD4, HEADS, C4A, github_history
from loopback import Reply
from test_eval import live_config
from test_providers_wire import openai_body

from reviewgate.cli import main
from reviewgate.testing import verdict_json

KEY_RISK = {"severity": "high", "title": "Hardcoded AWS access key",
            "location": "src/mod5.py:2", "detail": "Read the key from the environment instead "
            "of hardcoding it in the source", "recommendation": "use os.environ"}
LOOP_RISK = {"severity": "medium", "title": "Loop never terminates when n is 0",
             "location": "src/mod4.py:3", "detail": "while n: pass spins forever",
             "recommendation": "decrement n"}
TESTS_RISK = {"severity": "low", "title": "No tests for the empty input case",
              "location": "", "detail": "parse(data) with empty input is not tested",
              "recommendation": "add tests"}
CONST_RISK = {"severity": "medium", "title": "Magic number 1000", "location": "src/mod6.py:10",
              "detail": "name the constant", "recommendation": "a named constant"}


def scripted(seen) -> Reply:
    """Seat a finds the key and the loop, b the key, c the missing tests; a and b vote against
    the clean #6 (a false block), everyone else agrees."""
    prompt = json.dumps(seen.body["messages"])
    seat = seen.body["model"][-1]
    if "src/mod5.py" in prompt and seat in "ab":
        answer = verdict_json("NOT_OK", risks=[KEY_RISK])
    elif "while n: pass" in prompt and seat == "a":
        answer = verdict_json("OK", risks=[LOOP_RISK])
    elif "src/mod7.py" in prompt and seat == "c":
        answer = verdict_json("OK", risks=[TESTS_RISK])
    elif "src/mod6.py" in prompt and seat in "ab":
        answer = verdict_json("NOT_OK", risks=[CONST_RISK])
    else:
        answer = verdict_json("OK")
    return Reply(200, openai_body(answer))


@pytest.fixture
def history_dataset(tmp_path, capsys, monkeypatch) -> Path:
    """The GitHub double's history built into a dataset: 6 entries of 5 pull requests."""
    monkeypatch.setenv("REVIEWGATE_FORGE_TOKEN", "gh-token")
    fake = github_history()
    try:
        assert main(["dataset", "build", "--forge", "github", "--url", fake.url, "--repo",
                     "owner/repo", "--out", str(tmp_path / "history"), "--bot-login",
                     "reviewbot", "--last", "10"]) == 0
    finally:
        fake.close()
    capsys.readouterr()
    return tmp_path / "history"


def test_live_eval_of_a_built_dataset(history_dataset, tmp_path, loopback, capsys):
    """Figures by hand. Golden comments: #7's review body, #5's key, #4's loop (first push)
    and #4's name (head): a, b find the key, a the loop, c the tests: recall 3/4 = 0.75.
    Expected to merge: #6 (a and b vote NOT_OK: deferred, a false block) and #3 (merged):
    1/2. Every ballot: 120 tokens in at $1/M, 40 out at $2/M = $0.0002; 6 entries x 3 seats x
    2 hats = 36 ballots = $0.0072 over 5 pull requests = $0.00144 and 864/288 tokens per pull
    request; per seat 12 ballots = $0.0024 = $0.00048 and 288/96 tokens per pull request."""
    loopback.route("POST", "/v1/chat/completions", scripted)
    config = live_config(tmp_path, loopback.url)
    assert main(["eval", str(history_dataset), "--config", config, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    asked = len(loopback.requests_to("/v1/chat/completions"))
    assert asked == 36
    assert report["findings"]["recall"] == 0.75
    assert (report["merge_expected"], report["false_blocks"], report["false_block_rate"],
            report["unreviewed_blocks"], report["error_decisions"]) == (2, 1, 0.5, 0, 0)
    assert report["pull_requests"] == 5
    assert report["cost_usd"] == pytest.approx(0.0072) and report["paid_usd"] == pytest.approx(
        0.0072)
    assert report["cost_per_pr"] == pytest.approx(0.00144)
    assert (report["tokens_in_per_pr"], report["tokens_out_per_pr"]) == (864.0, 288.0)
    seats = {s["seat"]: s for s in report["seats"]}
    assert {k: (s["found"], s["sole"], s["recall"], s["false_block_rate"])
            for k, s in seats.items()} == {"a": (2, 1, 0.5, 0.5), "b": (1, 0, 0.25, 0.5),
                                           "c": (1, 1, 0.25, 0.0)}
    for s in seats.values():
        assert s["cost_per_pr"] == pytest.approx(0.00048)
        assert (s["tokens_in_per_pr"], s["tokens_out_per_pr"]) == (288.0, 96.0)
    rows = {p["id"]: p for p in report["prs"]}
    expect = {f"7@{HEADS[7][:12]}": (["g1"], [], "merge", None),
              f"6@{HEADS[6][:12]}": ([], [], "defer", "findings"),
              f"5@{HEADS[5][:12]}": (["g1"], [], "defer", "findings"),
              f"4@{HEAD4[:12]}": ([], ["g1"], "merge", None),
              f"4@{C4A[:12]}": (["g1"], [], "merge", None),
              f"3@{HEADS[3][:12]}": ([], [], "merge", None)}
    assert {k: (p["found"], p["missed"], p["decision"], p["blocked"])
            for k, p in rows.items()} == expect
    assert all(p["cost_usd"] == pytest.approx(0.0012) for p in rows.values())

    # a second run of the same dataset: every ballot from the verdict cache, no model call,
    # the same figures, nothing paid
    assert main(["eval", str(history_dataset), "--config", config, "--format", "json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert len(loopback.requests_to("/v1/chat/completions")) == asked
    assert again["paid_usd"] == 0.0 and again["cost_per_pr"] == report["cost_per_pr"]
    assert again["seats"] == report["seats"] and again["findings"] == report["findings"]

    # the printed report says the same
    assert main(["eval", str(history_dataset), "--config", config]) == 0
    out = capsys.readouterr().out
    assert "Recall of the golden comments: 3 of 4 found (0.750)." in out
    assert ("False blocks: 1 of 2 entries expected to merge were deferred or split (0.500); "
            "counted apart: 0 deferred only for lines no quorum saw, 0 `error`.") in out
    assert ("Cost $0.0072 for 5 pull requests: $0.0014 and 864 tokens in, 288 out per pull "
            "request; paid by this run $0.0000") in out
    assert "| a | 2 | 1 | 0.500 | 0.500 | $0.0005 | 288 / 96 |" in out
    assert "| c | 1 | 1 | 0.250 | 0.000 | $0.0005 | 288 / 96 |" in out
    assert f"| 6@{HEADS[6][:12]} | defer (expected merge; false block) | — | — |" in out
    assert f"| 4@{HEAD4[:12]} | merge | — | g1 |" in out


BINARY = "diff --git a/bin.dat b/bin.dat\nindex 1111111..2222222 100644\n" \
         "Binary files a/bin.dat and b/bin.dat differ\n"


def one_file(name: str) -> str:
    return (f"diff --git a/{name} b/{name}\n--- a/{name}\n+++ b/{name}\n@@ -1 +1 @@\n-a = 1\n"
            "+a = 2\n")


def test_error_and_unreviewed_defers_are_not_false_blocks(tmp_path, loopback, capsys):
    """Three entries expected to merge: every seat against (a false block), every seat for
    but a binary file no one saw (deferred only for unreviewed lines), no valid answer at all
    (error): 1 false block of 3, the other two counted apart."""
    folder = tmp_path / "ds"
    (folder / "diffs").mkdir(parents=True)
    entries = {"against": one_file("flagged.py"), "unseen": one_file("ok.py") + BINARY,
               "broken": one_file("garbage.py")}
    for name, diff in entries.items():
        (folder / "diffs" / f"{name}.patch").write_text(diff)
    (folder / "dataset.json").write_text(json.dumps({"name": "blocks", "prs": [
        {"id": name, "diff": f"diffs/{name}.patch", "expect": "merge"} for name in entries]}))

    def handler(seen):
        prompt = json.dumps(seen.body["messages"])
        if "garbage.py" in prompt:
            return Reply(200, openai_body("no verdict here"))
        vote = "NOT_OK" if "flagged.py" in prompt else "OK"
        return Reply(200, openai_body(verdict_json(vote)))
    loopback.route("POST", "/v1/chat/completions", handler)
    assert main(["eval", str(folder), "--config", live_config(tmp_path, loopback.url),
                 "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {p["id"]: (p["decision"], p["blocked"]) for p in report["prs"]} == {
        "against": ("defer", "findings"), "unseen": ("defer", "unreviewed"),
        "broken": ("error", "error")}
    assert (report["merge_expected"], report["false_blocks"], report["unreviewed_blocks"],
            report["error_decisions"]) == (3, 1, 1, 1)
    assert report["false_block_rate"] == pytest.approx(0.3333, abs=1e-4)
