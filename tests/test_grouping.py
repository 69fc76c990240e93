"""``consolidate = "seat:NAME"``: one structured call groups the findings; any failure falls back
to the deterministic grouping and the record says which one decided."""

from __future__ import annotations

import json

import pytest
from conftest import DATA
from loopback import Reply
from test_providers_wire import openai_body

from reviewgate.cli import main
from reviewgate.testing import verdict_json

# Two findings the deterministic grouping keeps apart (different files), a third alone.
RISK_A = {"severity": "high", "title": "Retry storm on 503", "location": "src/client.py:10",
          "detail": "no backoff", "recommendation": "add backoff"}
RISK_B = {"severity": "medium", "title": "Server overload under failures",
          "location": "src/pool.py:90", "detail": "connections are retried at once",
          "recommendation": "jitter"}
RISK_C = {"severity": "low", "title": "Typo in docstring", "location": "README.md:1",
          "detail": "teh", "recommendation": "the"}


def config(tmp_path, url: str, consolidate: str = "seat:a", timeout: float = 5) -> str:
    lines = ["[profiles.p]", "hats = [\"tech\"]", "[profiles.p.policy]",
             f'consolidate = "{consolidate}"']
    for seat in ("a", "b", "c"):
        lines += ["[[profiles.p.seats]]", f'name = "{seat}"', 'provider = "openai-compatible"',
                  f'model = "model-{seat}"', f'base_url = "{url}/v1"', f"timeout_s = {timeout}",
                  "max_attempts = 1"]
    path = tmp_path / "reviewgate.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def serve(loopback, grouping_reply: Reply, asked: list[dict]):
    """Ballots: a raises A, b raises B and C, c has none; grouping requests get the reply."""
    risks = {"model-a": [RISK_A], "model-b": [RISK_B, RISK_C], "model-c": []}

    def handler(seen):
        content = seen.body["messages"][-1]["content"]
        if "consolidate the findings" in content:
            asked.append(seen.body)
            return grouping_reply
        return Reply(200, openai_body(verdict_json("NOT_OK" if risks[seen.body["model"]]
                                                   else "OK", risks=risks[seen.body["model"]])))
    loopback.route("POST", "/v1/chat/completions", handler)


def review(tmp_path, url) -> dict:
    out = tmp_path / "decision.json"
    main(["review", "--diff", str(DATA / "requests-6667-ssl-context" / "diff.patch"),
          "--config", config(tmp_path, url), "--out", str(out), "--format", "json"])
    return json.loads(out.read_text())


def clusters(record: dict) -> list[list[str]]:
    return sorted(sorted(m["finding"]["title"] for m in c["members"])
                  for c in record["decision"]["clusters"])


def ids_in(body: dict) -> list[str]:
    content = body["messages"][-1]["content"]
    return [line.split(" ", 1)[0] for line in content.splitlines() if line[:1] == "F"
            and line.split(" ", 1)[0][1:].isdigit()]


def test_seat_grouping_decides_when_valid(tmp_path, loopback):
    """The seat merges A and B (which the deterministic grouping keeps apart): the clusters
    follow it, the record says seat:a decided, and its usage is counted."""
    asked: list[dict] = []
    # canonical order: tech-a's risks, then tech-b's: F1 = A, F2 = B, F3 = C
    serve(loopback, Reply(200, openai_body(json.dumps({"groups": [["F1", "F2"], ["F3"]]}))),
          asked)
    record = review(tmp_path, loopback.url)
    assert record["decision"]["consolidated_by"] == "seat:a"
    assert clusters(record) == [["Retry storm on 503", "Server overload under failures"],
                                ["Typo in docstring"]]
    assert len(asked) == 1 and ids_in(asked[0]) == ["F1", "F2", "F3"]
    assert asked[0]["response_format"]["type"] == "json_schema"
    assert "UNTRUSTED-" in asked[0]["messages"][-1]["content"]
    assert record["usage"]["tokens_in"] == 4 * 120  # three ballots and the grouping call


def test_seat_grouping_ids_left_out_become_their_own_groups(tmp_path, loopback):
    """An id the seat forgot is a cluster of its own, not a failure."""
    serve(loopback, Reply(200, openai_body(json.dumps({"groups": [["F1", "F2"]]}))), [])
    record = review(tmp_path, loopback.url)
    assert record["decision"]["consolidated_by"] == "seat:a"
    assert ["Typo in docstring"] in clusters(record)


def deterministic(record: dict) -> bool:
    return clusters(record) == [["Retry storm on 503"], ["Server overload under failures"],
                                ["Typo in docstring"]]


def test_malformed_grouping_falls_back(tmp_path, loopback):
    """Prose instead of JSON: the deterministic grouping decides, and the record says why."""
    serve(loopback, Reply(200, openai_body("Sure! A and B look alike.")), [])
    record = review(tmp_path, loopback.url)
    by = record["decision"]["consolidated_by"]
    assert by.startswith("deterministic (seat:a failed: grouping: no JSON object")
    assert deterministic(record)


def test_unknown_or_repeated_ids_fall_back(tmp_path, loopback):
    """An id that was never sent, or one id in two groups, is not a grouping."""
    serve(loopback, Reply(200, openai_body(json.dumps({"groups": [["F1", "F9"]]}))), [])
    record = review(tmp_path, loopback.url)
    assert "unknown finding id 'F9'" in record["decision"]["consolidated_by"]
    assert deterministic(record)


@pytest.mark.parametrize("answer, reason", [
    ('{"groups": [["F1", ' + "1" * 4400 + "]]}",
     "answer has a number of 4,400 characters (limit 64)"),
    ('{"groups": ' + "[" * 900 + "]" * 900 + "}", "answer nested deeper than 32 levels"),
    ("{'groups': " + "[" * 900 + "]" * 900 + ",}", "answer nested deeper than 32 levels"),
])
def test_grouping_past_the_bounds_falls_back(tmp_path, loopback, answer, reason):
    """A grouping answer with a 4,400-digit integer or 900-deep nesting (strict JSON, or for
    json-repair) falls back to the deterministic grouping with the reason; the run decides."""
    serve(loopback, Reply(200, openai_body(answer)), [])
    record = review(tmp_path, loopback.url)
    assert record["decision"]["consolidated_by"] == \
        f"deterministic (seat:a failed: grouping: {reason})"
    assert record["decision"]["decision"] != "error" and deterministic(record)


def test_grouping_timeout_falls_back(tmp_path, loopback):
    """The grouping call hangs past the seat's timeout: fallback with the reason, no crash."""
    out = tmp_path / "decision.json"
    serve(loopback, Reply(200, openai_body("{}"), delay=3.0), [])
    code = main(["review", "--diff", str(DATA / "requests-6667-ssl-context" / "diff.patch"),
                 "--config", config(tmp_path, loopback.url, timeout=1.5), "--out", str(out)])
    record = json.loads(out.read_text())
    assert code == 10
    assert "timeout after 1.5 s" in record["decision"]["consolidated_by"]
    assert deterministic(record)


def test_replay_reuses_the_seat_grouping_without_a_call(tmp_path, loopback):
    """--replay of a seat-grouped run gives the same clusters and calls no model."""
    asked: list[dict] = []
    serve(loopback, Reply(200, openai_body(json.dumps({"groups": [["F1", "F2"], ["F3"]]}))),
          asked)
    first = review(tmp_path, loopback.url)
    calls = len(loopback.seen)
    again = tmp_path / "again.json"
    main(["review", "--replay", str(tmp_path / "decision.json"), "--out", str(again)])
    replayed = json.loads(again.read_text())
    assert len(loopback.seen) == calls
    assert clusters(replayed) == clusters(first)
    assert replayed["decision"]["consolidated_by"] == "seat:a"


def test_config_rejects_consolidation_by_unknown_seat(tmp_path, capsys):
    """consolidate = "seat:zz" with no seat zz is a configuration error (exit 2)."""
    path = config(tmp_path, "http://127.0.0.1:9", consolidate="seat:zz")
    assert main(["config", "check", "--config", path]) == 2
    assert "seat 'zz'" in capsys.readouterr().err
