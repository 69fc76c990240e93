"""End to end: the CLI reviews a real diff with the embedded model (Gemma 3 270M, in its worker
process)."""

from __future__ import annotations

import json

import pytest
from conftest import DATA

from reviewgate.cli import EXIT_FOR, main

pytestmark = pytest.mark.model


def test_cli_reviews_real_diff_with_embedded_model_and_replays(tmp_path, monkeypatch, capsys):
    """No configuration: the local profile casts six ballots on psf/requests#6667, prints a
    decision with the tiny-model notice, writes decision.json, and --replay reproduces it."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "decision.json"
    code = main(["review", "--diff", str(DATA / "requests-6667-ssl-context" / "diff.patch"),
                 "--title", "Avoid reloading root certificates to improve concurrent performance",
                 "--out", str(out)])
    captured = capsys.readouterr()
    record = json.loads(out.read_text())
    decision = record["decision"]["decision"]
    assert code == EXIT_FOR[decision]
    assert len(record["ballots"]) == 6
    assert {(b["seat"], b["hat"]) for b in record["ballots"]} == {
        (f"gemma-{i}", h) for i in (1, 2, 3) for h in ("tech", "product")}
    assert all(b["provider"] == "local" for b in record["ballots"])
    # every ballot either produced a verdict or says why not, with what the model answered
    for b in record["ballots"]:
        assert (b["verdict"] is not None) != (b["error"] is not None)
        if b["error"] and "timeout" not in b["error"]:
            assert b["answers"]
    # quorum-valid ballots and a reasoned decision: the embedded model must actually vote
    assert decision in ("merge", "defer", "split"), record["decision"]["reasons"]
    for hat in ("tech", "product"):
        voting = [b for b in record["ballots"] if b["hat"] == hat and b["vote"] != "ABSTAIN"]
        assert len(voting) >= record["config"]["profile"]["policy"]["quorum"]
        for b in voting:
            assert 0.0 <= b["verdict"]["confidence"] <= 1.0 and b["verdict"]["summary"].strip()
    assert record["decision"]["reasons"] and all(r.strip() for r in record["decision"]["reasons"])
    assert "NOT a real review" in captured.err and "NOT a real review" in captured.out
    assert f"Status: {decision.upper()}" in captured.out
    assert record["input"]["changed_lines"] == 46 and record["usage"]["tokens_in"] > 0

    assert main(["review", "--replay", str(out), "--format", "json"]) == code
    replayed = json.loads(capsys.readouterr().out)
    assert replayed["decision"] == record["decision"]
