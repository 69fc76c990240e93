"""Benchmark: fan-out wall time against loopback model servers with fixed latencies.

    python bench/bench_fanout.py

Three seats on three wire protocols (anthropic, openai, ollama; the real SDKs run), two hats
each, answering after fixed delays. Prints the run's wall time against the slowest ballot and
against the sequential sum, cold (first run in a fresh process: SDK imports and client
construction included) and warm, with delays 0.5/1/2 s and with a 10 s straggler.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from loopback import Loopback, Reply  # noqa: E402
from test_providers_wire import anthropic_body, ollama_body, openai_body  # noqa: E402

from reviewgate.core.changeset import ChangeSet, parse_unified_diff  # noqa: E402
from reviewgate.core.config import Profile, SeatConfig  # noqa: E402
from reviewgate.context.packing import build_context  # noqa: E402
from reviewgate.context.prompts import Prompter  # noqa: E402
from reviewgate.ensemble.fanout import run_review  # noqa: E402
from reviewgate.testing import verdict_json  # noqa: E402


def serve(server: Loopback, delays: dict[str, float]) -> None:
    body = verdict_json()
    server.route("POST", "/v1/messages",
                 lambda s: Reply(200, anthropic_body(body), delay=delays["anthropic"]))
    server.route("POST", "/v1/chat/completions",
                 lambda s: Reply(200, openai_body(body), delay=delays["openai"]))
    server.route("POST", "/api/chat",
                 lambda s: Reply(200, ollama_body(body), delay=delays["ollama"]))


def setup(server: Loopback):
    seats = [SeatConfig(name="claude", provider="anthropic", model="m", base_url=server.url),
             SeatConfig(name="gpt", provider="openai", model="m", base_url=server.url + "/v1"),
             SeatConfig(name="glm", provider="ollama", model="m", base_url=server.url)]
    diff = (ROOT / "tests/data/requests-6667-ssl-context/diff.patch").read_text()
    pack = build_context(ChangeSet(title="t", diff=diff, files=parse_unified_diff(diff)),
                         budget_tokens=8000, exclude=[])
    return Profile(seats=seats, hats=["tech", "product"]), pack


def run(server: Loopback) -> tuple[float, list[float]]:
    profile, pack = setup(server)
    started = time.perf_counter()
    ballots = asyncio.run(run_review(profile, pack, Prompter()))
    wall = time.perf_counter() - started
    assert all(b.vote == "OK" for b in ballots), [b.error for b in ballots]
    return wall, [b.latency_s for b in ballots]


def main() -> None:
    os.environ.setdefault("OPENAI_API_KEY", "bench-key")
    os.environ.setdefault("ANTHROPIC_API_KEY", "bench-key")
    server = Loopback()
    print(f"{'scenario':<34} {'wall s':>7} {'slowest s':>9} {'wall/slowest':>12} "
          f"{'sequential sum s':>16}")
    try:
        for label, delays in (("0.5/1/2 s, cold (imports)", (0.5, 1.0, 2.0)),
                              ("0.5/1/2 s, warm", (0.5, 1.0, 2.0)),
                              ("0.5/1/2 s, warm", (0.5, 1.0, 2.0)),
                              ("0.5/1 s + 10 s straggler, warm", (0.5, 1.0, 10.0))):
            serve(server, dict(zip(("anthropic", "openai", "ollama"), delays, strict=True)))
            wall, latencies = run(server)
            slowest = max(latencies)
            print(f"{label:<34} {wall:7.2f} {slowest:9.2f} {wall / slowest:12.3f} "
                  f"{sum(latencies):16.2f}")
        serve(server, {"anthropic": 0.5, "openai": 1.0, "ollama": 2.0})
        profile, pack = setup(server)

        async def ten() -> list:
            return await asyncio.gather(*(run_review(profile, pack, Prompter())
                                          for _ in range(10)))
        started = time.perf_counter()
        runs = asyncio.run(ten())
        wall = time.perf_counter() - started
        slowest = max(b.latency_s for ballots in runs for b in ballots)
        print(f"{'ten concurrent reviews (60 ballots)':<34} {wall:7.2f} {slowest:9.2f} "
              f"{wall / slowest:12.3f} {sum(b.latency_s for r in runs for b in r):16.2f}")
    finally:
        server.close()


if __name__ == "__main__":
    main()
