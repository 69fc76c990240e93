"""``reviewgate eval``: scores computed by hand on a tiny dataset, real data, live runs."""

from __future__ import annotations

import json

import pytest
from conftest import DATA
from loopback import Reply
from test_providers_wire import openai_body

from reviewgate.cli import main
from reviewgate.quality.dataset import load_dataset
from reviewgate.core.errors import InputError
from reviewgate.quality.scoring import ClusterOutcome, score_pr
from reviewgate.testing import verdict_json

MINI = DATA / "eval-mini" / "dataset.json"


def run_json(capsys, *args: str) -> dict:
    code = main(["eval", *args, "--format", "json"])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def test_recorded_scores_match_hand_computation(capsys):
    """x/y raise g1 at session.py:51/53, y/z raise g2 at search.py:10/12, x a lone typo:
    2 same pairs both merged, 3 different pairs none merged; 3 clusters, 2 correct."""
    report = run_json(capsys, str(MINI), "--recorded", "x,y,z")
    assert report["same_issue"] == {"recall": 1.0, "false_merge_rate": 0.0, "same_pairs": 2,
                                    "different_pairs": 3}
    p1 = report["prs"][0]
    assert (p1["clusters"], p1["correct"], p1["corroborated"], p1["covered"]) == (3, 2, 2, 2)
    # over both PRs: clusters 3 + 1 (y's finding on p2), correct 2 + 1; golden 2 + 1 covered 3
    assert report["findings"] == {"precision": 0.75, "recall": 1.0, "f1": pytest.approx(0.8571,
                                                                                        abs=1e-4)}
    # corroborated: the two clusters of p1, both correct; g1 of p2 has one seat only
    assert report["corroborated"] == {"precision": 1.0, "recall": pytest.approx(0.6667, abs=1e-4),
                                      "f1": 0.8}
    assert report["mode"] == "recorded" and report["reviewers"] == ["x", "y", "z"]


def test_markdown_report_has_overall_and_per_pr_tables(capsys):
    """Markdown output: the measures table and one row per pull request."""
    assert main(["eval", str(MINI), "--recorded", "x,y,z"]) == 0
    out = capsys.readouterr().out
    assert "| corroborated (2+ seats) | 1.000 | 0.667 | 0.800 |" in out
    assert "| p1 | 2 | 3 | 2 | 2 | 2 | 2 | 2/2 | 0/3 |" in out


def test_results_are_reproducible_across_processes():
    """Same input, same numbers byte for byte, in two processes with different hash seeds (set
    and dict iteration orders differ between them)."""
    import os
    import subprocess
    import sys

    outs = []
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-m", "reviewgate.cli", "eval",
                               str(DATA / "crb-excerpt"), "--recorded", "augment,bugbot,greptile",
                               "--format", "json"], env=env, capture_output=True, text=True,
                              timeout=120, check=True)
        outs.append(done.stdout)
    assert outs[0] == outs[1] and '"same_issue"' in outs[0]


def test_real_findings_are_consolidated(capsys):
    """On real findings of three tools (4 PRs of crb-public) consolidation sees most agreement
    and merges few different issues."""
    report = run_json(capsys, str(DATA / "crb-excerpt"), "--recorded", "augment,bugbot,greptile")
    same = report["same_issue"]
    assert same["same_pairs"] >= 8
    assert same["recall"] >= 0.75 and same["false_merge_rate"] <= 0.1
    assert report["corroborated"]["precision"] > report["findings"]["precision"]


def test_unknown_reviewer_is_a_usage_error(capsys):
    """A reviewer the dataset does not hold: exit 2 naming the reviewers present."""
    assert main(["eval", str(MINI), "--recorded", "x,nobody"]) == 2
    err = capsys.readouterr().err
    assert "nobody" in err and "x, y, z" in err


def test_bad_dataset_names_the_field(tmp_path):
    """A malformed dataset is an InputError naming the bad field."""
    bad = tmp_path / "dataset.json"
    bad.write_text(json.dumps({"prs": [{"id": "p", "golden": [{"comment": "c"}]}]}))
    with pytest.raises(InputError, match=r"prs\.0\.golden\.0\.id"):
        load_dataset(bad)


def test_score_pr_counts_pairs_across_seats_only():
    """Two findings of one seat with the same label are not a same pair."""
    s = score_pr("p", ["g1"], [ClusterOutcome(seats=["a"], members=[("a", "g1"), ("a", "g1")],
                                              matched=["g1"])])
    assert s.same_pairs == 0 and s.correct == 1 and s.corroborated == 0


def live_config(tmp_path, url: str, judge: bool = False) -> str:
    lines = ["[profiles.live]"]
    for seat in ("a", "b", "c"):
        lines += ["[[profiles.live.seats]]", f'name = "{seat}"',
                  'provider = "openai-compatible"', f'model = "model-{seat}"',
                  f'base_url = "{url}/v1"', "timeout_s = 5", "price_in_per_mtok = 1.0",
                  "price_out_per_mtok = 2.0"]
    path = tmp_path / "reviewgate.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


SSL_RISK = {"severity": "medium", "title": "verify=path ignores the custom CA bundle",
            "location": "src/requests/adapters.py:80",
            "detail": "the shared SSL context is preloaded, custom CA bundles are not loaded",
            "recommendation": "load the bundle"}


def serve_live(loopback, judged: list[str]):
    def handler(seen):
        content = seen.body["messages"][-1]["content"]
        if "known issue" in content:
            judged.append(content)
            return Reply(200, openai_body(json.dumps({"match": "CA bundle" in content})))
        model = seen.body["model"]
        risks = [SSL_RISK] if model in ("model-a", "model-b") else []
        return Reply(200, openai_body(verdict_json("OK", risks=risks)))
    loopback.route("POST", "/v1/chat/completions", handler)


def test_live_run_scores_findings_and_false_blocks(tmp_path, loopback, capsys):
    """Live: the profile reviews p2's diff through loopback seats; the corroborated SSL finding
    matches the golden comment; p2 is expected to merge and does."""
    serve_live(loopback, [])
    report = run_json(capsys, str(MINI), "--config", live_config(tmp_path, loopback.url))
    assert report["mode"] == "live" and [p["id"] for p in report["prs"]] == ["p2"]
    assert report["corroborated"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert report["false_block_rate"] == 0.0
    assert report["cost_usd"] > 0 and report["prs"][0]["decision"] == "merge"


def test_live_run_with_judge_seat(tmp_path, loopback, capsys):
    """--judge asks the seat one {"match": bool} question per cluster and golden comment."""
    judged: list[str] = []
    serve_live(loopback, judged)
    report = run_json(capsys, str(MINI), "--config", live_config(tmp_path, loopback.url),
                      "--judge", "c")
    assert len(judged) == 1 and "UNTRUSTED-" in judged[0]
    assert report["findings"]["recall"] == 1.0


def test_live_run_judge_failure_counts_as_no_match(tmp_path, loopback, capsys):
    """A judge that answers garbage: no match, and the PR row says the questions failed."""
    def handler(seen):
        content = seen.body["messages"][-1]["content"]
        if "known issue" in content:
            return Reply(200, openai_body("I think so, yes"))
        return Reply(200, openai_body(verdict_json("OK", risks=[SSL_RISK])))
    loopback.route("POST", "/v1/chat/completions", handler)
    report = run_json(capsys, str(MINI), "--config", live_config(tmp_path, loopback.url),
                      "--judge", "c")
    assert report["findings"]["recall"] == 0.0
    assert "judge questions failed" in report["prs"][0]["error"]
