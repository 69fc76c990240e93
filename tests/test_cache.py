"""The verdict cache: a re-run on an unchanged diff asks no model; anything else does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from loopback import Reply
from test_cli import BLOCKER, review
from test_providers_wire import openai_body

from reviewgate.ensemble.cache import VerdictCache
from reviewgate.testing import verdict_json

ROOT = Path(__file__).parent.parent


def model_calls(loopback) -> int:
    return len(loopback.requests_to("/v1/chat/completions"))


def test_rerun_on_unchanged_diff_costs_nothing(tmp_path, loopback, capsys):
    """The second run takes all six ballots from the cache: no request, zero tokens, the same
    decision, and the comment says where the ballots came from."""
    answers = {("a", "tech"): verdict_json("NOT_OK", risks=[BLOCKER])}
    code1, first = review(tmp_path, loopback, answers)
    assert model_calls(loopback) == 6 and first["usage"]["tokens_in"] > 0
    code2, second = review(tmp_path, loopback, answers)
    assert model_calls(loopback) == 6
    assert (code1, code2) == (10, 10)
    assert second["usage"]["tokens_in"] == 0 and second["usage"]["cost_usd"] == 0
    assert second["usage"]["cached_ballots"] == 6
    assert all(b["cached"] for b in second["ballots"])
    assert second["decision"]["reasons"] == first["decision"]["reasons"]
    out = capsys.readouterr()
    assert "6 of 6 ballots came from the verdict cache" in out.out
    assert out.err.count("from the verdict cache") == 6


def test_no_cache_asks_again_and_a_changed_diff_misses(tmp_path, loopback):
    """--no-cache asks every model; another diff is another key."""
    review(tmp_path, loopback, {})
    review(tmp_path, loopback, {}, "--no-cache")
    assert model_calls(loopback) == 12
    review(tmp_path, loopback, {}, diff="requests-7328-redirect-history")
    assert model_calls(loopback) == 18


def test_abstentions_are_not_cached(tmp_path, loopback):
    """A ballot without a verdict is asked again next time."""
    calls = []

    def handler(seen):
        calls.append(seen.body["model"])
        if seen.body["model"] == "model-a" and calls.count("model-a") <= 4:
            return Reply(200, openai_body("not json at all"))
        return Reply(200, openai_body(verdict_json()))
    loopback.route("POST", "/v1/chat/completions", handler)
    from test_cli import write_config
    from reviewgate.cli import main
    config = write_config(tmp_path, loopback.url)
    diff = str(Path(__file__).parent / "data" / "requests-6667-ssl-context" / "diff.patch")
    main(["review", "--diff", diff, "--config", config, "--out", str(tmp_path / "1.json")])
    first = json.loads((tmp_path / "1.json").read_text())
    assert sum(b["vote"] == "ABSTAIN" for b in first["ballots"]) == 2
    main(["review", "--diff", diff, "--config", config, "--out", str(tmp_path / "2.json")])
    second = json.loads((tmp_path / "2.json").read_text())
    assert [b["cached"] for b in second["ballots"] if b["seat"] == "a"] == [False, False]
    assert all(b["cached"] for b in second["ballots"] if b["seat"] != "a")
    assert all(b["vote"] == "OK" for b in second["ballots"])


WRITER = """
import sys
from pathlib import Path
from reviewgate.ensemble.cache import VerdictCache
from reviewgate.core.verdict import Ballot, Verdict
cache = VerdictCache(Path(sys.argv[1]))
v = Verdict(vote="OK", confidence=0.5, summary="s", risks=[], opportunities=[], split=False,
            suggested_split=[], questions=[])
for i in range(150):
    cache.put(f"{sys.argv[2]}-{i}", Ballot(seat="s", hat="h", provider="p", model="m",
                                           vote="OK", verdict=v))
"""


def test_two_processes_share_the_cache(tmp_path):
    """Two processes writing at once (WAL): every row of both lands, no 'database is locked'."""
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), name],
                              stderr=subprocess.PIPE, text=True,
                              env={"PYTHONPATH": str(ROOT)})
             for name in ("one", "two")]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    cache = VerdictCache(tmp_path)
    assert all(cache.get(f"{n}-{i}") is not None for n in ("one", "two") for i in range(150))
    cache.close()


def test_estimate_prints_tokens_and_cost_without_calling_a_model(tmp_path, loopback, capsys):
    """--estimate: one row per ballot with prompt tokens, the output cap and the USD bound; no
    request reaches a model; ballots already in the cache cost 0."""
    from test_cli import write_config
    from reviewgate.cli import main
    config = write_config(tmp_path, loopback.url)
    diff = str(Path(__file__).parent / "data" / "requests-6667-ssl-context" / "diff.patch")
    assert main(["review", "--diff", diff, "--title", "t", "--config", config,
                 "--estimate"]) == 0
    out = capsys.readouterr().out
    assert model_calls(loopback) == 0
    rows = [line for line in out.splitlines() if line.startswith("| `")]
    assert len(rows) == 6
    tokens, billed = int(rows[0].split("|")[2]), int(rows[0].split("|")[3])
    assert 500 < tokens < 5000
    assert 3 * tokens < billed < 4 * tokens  # one a byte: 3.5 characters a token estimated
    # price 3 USD in / 15 USD out per million tokens, output cap 2,048 tokens
    assert f"{(billed * 3 + 2048 * 15) / 1e6:.4f}" in rows[0]
    review(tmp_path, loopback, {})  # the same title and diff, now reviewed and cached
    capsys.readouterr()
    assert main(["review", "--diff", diff, "--title", "t", "--config", config,
                 "--estimate"]) == 0
    assert capsys.readouterr().out.count("0 (in the verdict cache)") == 6
