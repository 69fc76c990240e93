"""Benchmark: a re-fire on an unchanged diff with the verdict cache (target < 1 s, 0 tokens).

    python bench/bench_cache.py

Six ballots from scripted seats that each take 2 s (as a remote model might) on
psf/requests#6667; then the same review again, which the cache answers.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewgate.core.changeset import ChangeSet, parse_unified_diff  # noqa: E402
from reviewgate.core.config import Config, Profile, SeatConfig  # noqa: E402
from reviewgate.ensemble.pipeline import review_change  # noqa: E402
from reviewgate.testing import ScriptedProvider, verdict_json  # noqa: E402


def main() -> None:
    os.environ["REVIEWGATE_CACHE_DIR"] = tempfile.mkdtemp(prefix="reviewgate-bench-")
    diff = (ROOT / "tests/data/requests-6667-ssl-context/diff.patch").read_text()
    seats = [SeatConfig(name=n, provider="openai-compatible", model=f"m-{n}",
                        price_in_per_mtok=3.0, price_out_per_mtok=15.0) for n in "abc"]
    config = Config(profiles={"p": Profile(seats=seats)})

    def run(label: str) -> None:
        providers = {s.name: ScriptedProvider(s, {h: [2.0, verdict_json()] for h in
                                                  ("tech", "product")}) for s in seats}
        change = ChangeSet(title="t", diff=diff, files=parse_unified_diff(diff))
        started = time.perf_counter()
        record = review_change(change, config=config, profile_name="p", providers=providers)
        wall = time.perf_counter() - started
        calls = sum(len(p.requests) for p in providers.values())
        print(f"{label:<10} wall {wall:6.3f} s  model calls {calls}  tokens in/out "
              f"{record.usage.tokens_in}/{record.usage.tokens_out}  cost "
              f"${record.usage.cost_usd:.4f}  cached ballots {record.usage.cached_ballots}/6")

    run("first run")
    run("re-fire")


if __name__ == "__main__":
    main()
