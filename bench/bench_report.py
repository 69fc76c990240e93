"""Benchmark: ``reviewgate report`` over 100 pull requests on the Forgejo double.

    python bench/bench_report.py [RUNS] [PULLS]     # default: 5 runs, 100 pull requests

Each pull request holds the gate's decision comment with a three-round history (a whole
round, two incremental ones: six findings raised by three seats, two resolved, one dropped,
costs per ballot), written the way the gate writes it (:func:`reviewgate.publish.markers.
compose`), plus ten comments of people; half are merged, one in ten has an override row.
Prints the wall time of each run (min / median / max, seconds; the double runs in-process on
loopback and validates every request and response against the Forgejo OpenAPI document), the
requests by endpoint and the requests per pull request.
"""

from __future__ import annotations

import collections
import contextlib
import io
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fake_forgejo import FakeForgejo, FakePR  # noqa: E402

from reviewgate.cli import main  # noqa: E402
from reviewgate.publish import markers  # noqa: E402
from reviewgate.publish.render import DECISION_MARKER, Round, round_record  # noqa: E402

SEATS, HATS = ("claude", "gpt", "glm"), ("tech", "product")


def _rounds(n: int) -> list[Round]:
    costs = [[s, h, 0.012] for s in SEATS for h in HATS]
    first = {"n": [[1, [["claude", "tech", "blocker"], ["gpt", "tech", "high"]]],
                   [2, [["glm", "tech", "medium"]]], [3, [["gpt", "product", "low"]]],
                   [4, [["claude", "product", "medium"]]]], "r": [], "d": [], "c": costs}
    second = {"n": [[5, [["gpt", "tech", "high"]]]], "r": [1, 3], "d": [], "c": costs}
    third = {"n": [[6, [["glm", "tech", "low"], ["claude", "tech", "low"]]]], "r": [],
             "d": [4], "c": costs}
    findings = [{"s": "high", "t": f"Finding {k} of pull request {n}", "l": f"src/m{n}.py:{k}",
                 "x": "A detail of about one sentence, as a reviewer writes it. " * 3,
                 "m": [["gpt", "tech", "high"]], "i": k} for k in (2, 5, 6)]
    rows = [Round(head_sha=f"{n:040x}", decision=d, tallies="Tech: 2/3 OK · Product: 3/3 OK",
                  fired_by="ci", at=f"2026-11-{10 + i:02d}T08:00:00+00:00", mode=m,
                  merge_base="b" * 40, cost=0.072, outcome=o,
                  findings=findings if i == 2 else None)
            for i, (d, m, o) in enumerate((("defer", "whole", first),
                                           ("defer", "incremental", second),
                                           ("defer", "incremental", third)))]
    if n % 10 == 0:
        rows.append(Round(head_sha=f"{n:040x}", decision="override", tallies="by hand",
                          fired_by="maintainer", at="2026-11-20T08:00:00+00:00"))
    return rows


def _fake(pulls: int) -> FakeForgejo:
    fake = FakeForgejo()
    for n in range(1, pulls + 1):
        fake.add_pr(FakePR(number=n, title=f"Change {n}", body="", diff="", head_sha=f"{n:040x}",
                           state="closed" if n % 2 else "open",
                           merged_at="2026-11-21T08:00:00Z" if n % 2 else "",
                           updated_at=f"2026-11-{21 + n % 5:02d}T08:00:00Z"))
        for k in range(10):
            fake.add_comment(n, "alice", f"A remark of a person, number {k}.")
        body = markers.compose(DECISION_MARKER, "## Review decision\n\nDefer.",
                               [round_record(r) for r in _rounds(n)])
        fake.add_comment(n, "reviewbot", body)
    return fake


def main_() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    pulls = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    os.environ["REVIEWGATE_FORGE_TOKEN"] = "bot-token"
    os.environ["CI"] = "1"
    fake = _fake(pulls)
    times, out = [], ""
    try:
        for _ in range(runs):
            fake.log.clear()
            stdout = io.StringIO()
            start = time.perf_counter()
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
                code = main(["report", "--forge", "forgejo", "--url", fake.url, "--repo",
                             "owner/repo", "--since", "2026-11-01", "--format", "json"])
            times.append(time.perf_counter() - start)
            assert code == 0, code
            out = stdout.getvalue()
        endpoints = collections.Counter(
            re.sub(r"/\d+/", "/N/", p.split("?")[0]) for _, p in fake.log)
    finally:
        fake.close()
    import json
    data = json.loads(out)
    print(f"reviewgate report over {pulls} pull requests ({data['rounds']} rounds, "
          f"{data['overrides']} overrides, {data['merged']} merged), {runs} runs:")
    print(f"  wall time  min {min(times):.3f} s  median {statistics.median(times):.3f} s  "
          f"max {max(times):.3f} s")
    total = sum(endpoints.values())
    for endpoint, count in endpoints.most_common():
        print(f"  {count:5d}  GET {endpoint}")
    print(f"  requests per pull request: {total / pulls:.2f} ({total} in all)")
    row = next(s for s in data["seats"] if (s["seat"], s["hat"]) == ("gpt", "tech"))
    print(f"  gpt/tech: raised {row['raised']}, resolved {row['resolved']} "
          f"({row['resolved_share']:.0%}), cost per pull request ${row['cost_per_pull']:.4f}")


if __name__ == "__main__":
    main_()
