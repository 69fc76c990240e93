"""Benchmarks: where the time and memory of a review go, on the real pull requests.

    python bench/bench_review.py            # parsing, context packs, fan-out + decision
    python bench/bench_review.py --local    # also the embedded model, per ballot (slow)

Figures are printed as a table; run on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewgate.core.changeset import ChangeSet, parse_unified_diff  # noqa: E402
from reviewgate.core.config import Config, Profile, SeatConfig, builtin_local_profile  # noqa: E402
from reviewgate.context.packing import build_context  # noqa: E402
from reviewgate.ensemble.pipeline import review_change  # noqa: E402
from reviewgate.context.prompts import Prompter  # noqa: E402
from reviewgate.ensemble.fanout import run_review  # noqa: E402
from reviewgate.testing import ScriptedProvider, verdict_json  # noqa: E402

PRS = ["requests-7328-redirect-history", "requests-6667-ssl-context",
       "requests-7272-inline-types"]
RISK = {"severity": "high", "title": "Custom adapters break", "location": "src/requests/a.py:80",
        "detail": "d", "recommendation": "r"}


def timed(fn, repeat: int) -> tuple[float, int]:
    """(median milliseconds, peak KiB allocated) over ``repeat`` runs."""
    times = []
    tracemalloc.start()
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak // 1024


def change(name: str) -> ChangeSet:
    diff = (ROOT / "tests" / "data" / name / "diff.patch").read_text()
    return ChangeSet(title=name, diff=diff, files=parse_unified_diff(diff))


def scripted_review(cs: ChangeSet) -> None:
    seats = [SeatConfig(name=n, provider="openai", model="m") for n in "abc"]
    config = Config(profiles={"p": Profile(seats=seats)})
    answers = [verdict_json("OK", risks=[RISK] * 3), verdict_json("NOT_OK", risks=[RISK])]
    providers = {s.name: ScriptedProvider(s, {"tech": list(answers), "product": list(answers)})
                 for s in seats}
    review_change(cs, config=config, profile_name="p", providers=providers)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--local", action="store_true", help="also time the embedded model")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    console = Console()
    table = Table(title="reviewgate benchmarks (median of runs; peak = traced Python heap)")
    for col in ("what", "input", "median ms", "peak KiB"):
        table.add_column(col)
    for name in PRS:
        cs = change(name)
        text = cs.diff
        size = f"{len(text) / 1024:.0f} KiB, {len(cs.files)} files"
        ms, kib = timed(lambda text=text: parse_unified_diff(text), args.repeat)
        table.add_row("parse unified diff", f"{name} ({size})", f"{ms:.2f}", str(kib))
        ms, kib = timed(lambda cs=cs: build_context(cs, budget_tokens=6000, exclude=[]),
                        args.repeat)
        table.add_row("context pack (6k tokens)", name, f"{ms:.2f}", str(kib))
        ms, kib = timed(lambda cs=cs: scripted_review(cs), args.repeat)
        table.add_row("6 ballots + decision (scripted)", name, f"{ms:.2f}", str(kib))
    big = Table(title="context packing of huge diffs (8,192-token window)")
    for col in ("diff", "parse ms", "pack ms", "peak MiB", "files listed", "files omitted"):
        big.add_column(col)
    for files, lines in ((100, 500), (5000, 100)):
        text = "".join(
            f"diff --git a/src/m{i}.py b/src/m{i}.py\n--- a/src/m{i}.py\n+++ b/src/m{i}.py\n"
            f"@@ -0,0 +1,{lines} @@\n" + "".join(f"+value_{i}_{k} = {k}\n" for k in range(lines))
            for i in range(files))
        tracemalloc.start()
        t0 = time.perf_counter()
        parsed = parse_unified_diff(text)
        t1 = time.perf_counter()
        pack = build_context(ChangeSet(diff=text, files=parsed), budget_tokens=6000, exclude=[])
        t2 = time.perf_counter()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        big.add_row(f"{files * lines:,} lines, {files:,} files", f"{(t1 - t0) * 1000:.0f}",
                    f"{(t2 - t1) * 1000:.0f}", f"{peak / 2**20:.0f}", str(len(pack.files)),
                    str(len(pack.omitted)))
    console.print(big)

    if args.local:
        profile = builtin_local_profile()
        cs = change("requests-6667-ssl-context")
        prompter = Prompter()
        pack = build_context(cs, budget_tokens=5000, exclude=[])
        rows: list[tuple[str, str, float, int, int, str]] = []

        def progress(event) -> None:
            if event.state == "done":
                b = event.ballot
                rows.append((b.seat, b.hat, b.latency_s, b.tokens_in, b.tokens_out, b.vote))

        t = time.perf_counter()
        asyncio.run(run_review(profile, pack, prompter, on_progress=progress))
        wall = time.perf_counter() - t
        local = Table(title=f"embedded model, psf/requests#6667: {wall:.1f} s wall for "
                            f"{len(rows)} ballots (the first includes loading and a cold cache)")
        for col in ("seat", "hat", "latency s", "tokens in", "tokens out", "vote"):
            local.add_column(col)
        for seat, hat, lat, tin, tout, vote in rows:
            local.add_row(seat, hat, f"{lat:.1f}", str(tin), str(tout), vote)
        console.print(local)


if __name__ == "__main__":
    main()
