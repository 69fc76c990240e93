"""The whole `reviewgate review` process with the embedded model on psf/requests#6667, side by
side with another installation (e.g. an older checkout's venv), runs interleaved A B A B.

    python bench/bench_embedded.py [--runs 4] [--vs OTHER_VENV/bin/reviewgate]

A is this venv's ``reviewgate`` (or the executable named by the environment variable
``BENCH_A``, e.g. a wrapper that runs another setting); B is ``--vs``.

Each command reviews the same diff with the built-in ``local`` profile (no verdict cache), in a
temporary folder without configuration, after one warm-up run each (the page cache and the
packaged model assembled). Prints per command: the median, minimum and maximum wall seconds and
peak resident memory (the largest process, from ``wait4``), and the valid ballots of each run
(verdicts, not ABSTAIN) with the output tokens; then the median of the A/B wall ratios, pair by
pair (the machine's speed drifts; a pair shares it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIFF = ROOT / "tests" / "data" / "requests-6667-ssl-context" / "diff.patch"
TITLE = "Avoid reloading root certificates to improve concurrent performance"


def run(reviewgate: str, work: Path) -> tuple[float, float, int, int, list[int]]:
    """One review: (wall s, peak MiB, exit code, valid ballots, output tokens per ballot)."""
    out = work / "decision.json"
    out.unlink(missing_ok=True)
    cmd = [reviewgate, "review", "--diff", str(DIFF), "--title", TITLE, "--out", str(out),
           "--no-cache"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    ballots = json.loads(out.read_text())["ballots"] if out.exists() else []
    valid = sum(b["vote"] != "ABSTAIN" for b in ballots)
    return wall, usage.ru_maxrss / 1024, proc.returncode, valid, [b["tokens_out"] for b in ballots]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4, help="counted runs per command")
    parser.add_argument("--vs", help="a second `reviewgate` executable (B)")
    args = parser.parse_args()
    mine = os.environ.get("BENCH_A") or shutil.which(
        "reviewgate", path=str(Path(sys.executable).parent)) or "reviewgate"
    commands = {"A": mine, **({"B": args.vs} if args.vs else {})}
    rows: dict[str, list[tuple[float, float, int, int, list[int]]]] = {k: [] for k in commands}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for cmd in commands.values():
            run(cmd, work)  # warm-up
        for index in range(args.runs):
            for name, cmd in commands.items():
                rows[name].append(result := run(cmd, work))
                print(f"run {index + 1} {name}: {result[0]:.1f} s, {result[1]:.0f} MiB, exit "
                      f"{result[2]}, {result[3]}/6 valid, tokens out {result[4]}", flush=True)
    for name, cmd in commands.items():
        walls = [r[0] for r in rows[name]]
        print(f"{name} {cmd}: wall median {statistics.median(walls):.1f} s (min {min(walls):.1f}"
              f", max {max(walls):.1f}); peak {max(r[1] for r in rows[name]):.0f} MiB; valid "
              f"ballots {[r[3] for r in rows[name]]}")
    if args.vs:
        ratios = [a[0] / b[0] for a, b in zip(rows["A"], rows["B"], strict=True)]
        print(f"A/B wall ratio: median {statistics.median(ratios):.2f} (min {min(ratios):.2f}, "
              f"max {max(ratios):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
