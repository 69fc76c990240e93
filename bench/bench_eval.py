"""Benchmark: how well and how fast consolidation sees agreement between reviewers.

    python bench/bench_eval.py [DATASET]     # default: ../shared/eval/crb-public

Prints, for three named triples of recorded reviewers and over every triple of the dataset's
reviewers (those with findings on at least half the pull requests): same-issue recall,
false-merge rate, corroborated precision/recall/F1 and all-findings F1; the best single
reviewer's F1 for comparison; and the time to consolidate a 6-ballot run with 8 findings each.
"""

from __future__ import annotations

import itertools
import statistics
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewgate.core.consolidate import Item, group_findings  # noqa: E402
from reviewgate.quality.dataset import load_dataset  # noqa: E402
from reviewgate.quality.evaluate import evaluate_recorded  # noqa: E402

NAMED = [("augment", "bugbot", "greptile"), ("claude", "coderabbit", "qodo"),
         ("copilot", "gemini", "propel")]


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/eval/crb-public"
    ds = load_dataset(path)
    console = Console(width=130)
    table = Table(title=f"consolidation on {ds.name} ({len(ds.prs)} pull requests)")
    for col in ("reviewers", "same recall", "false merge", "same/diff pairs", "corr. P",
                "corr. R", "corr. F1", "all F1"):
        table.add_column(col, justify="left" if col == "reviewers" else "right")
    for triple in NAMED:
        r = evaluate_recorded(ds, list(triple))
        table.add_row(",".join(triple), f"{r.same_issue.recall:.3f}",
                      f"{r.same_issue.false_merge_rate:.3f}",
                      f"{r.same_issue.same_pairs}/{r.same_issue.different_pairs}",
                      f"{r.corroborated.precision:.3f}", f"{r.corroborated.recall:.3f}",
                      f"{r.corroborated.f1:.3f}", f"{r.findings.f1:.3f}")
    active = [rv for rv in ds.reviewers
              if sum(bool(pr.recorded.get(rv)) for pr in ds.prs) >= len(ds.prs) / 2]
    triples = list(itertools.combinations(active, 3))
    reports = [evaluate_recorded(ds, list(t)) for t in triples]

    def med(values):
        return f"{statistics.median(values):.3f}"

    table.add_row(f"median of {len(triples)} triples",
                  med([r.same_issue.recall for r in reports]),
                  med([r.same_issue.false_merge_rate for r in reports]), "",
                  med([r.corroborated.precision for r in reports]),
                  med([r.corroborated.recall for r in reports]),
                  med([r.corroborated.f1 for r in reports]),
                  med([r.findings.f1 for r in reports]))
    console.print(table)
    ok = sum(r.same_issue.recall >= 0.75 and r.same_issue.false_merge_rate <= 0.05
             for r in reports)
    console.print(f"triples with same-issue recall >= 0.75 and false-merge rate <= 0.05: "
                  f"{ok}/{len(reports)}")
    better = sum(r.corroborated.f1 > max(evaluate_recorded(ds, [x]).findings.f1 for x in t)
                 for r, t in zip(reports, triples, strict=True))
    console.print(f"triples whose corroborated F1 beats each member's own F1: "
                  f"{better}/{len(reports)}")
    singles = sorted(((evaluate_recorded(ds, [rv]).findings.f1, rv) for rv in active),
                     reverse=True)
    console.print("single reviewers, all-findings F1: " + ", ".join(
        f"{rv} {f1:.3f}" for f1, rv in singles))

    items = [Item(f"h{b}", f"finding {k} of ballot {b}: handle_request{k} leaks the "
                           f"connection pool when retry_count{k % 3} overflows in module{k}",
                  f"src/m{k % 5}.py:{12 * k + b}") for b in range(6) for k in range(8)]
    runs = []
    for _ in range(20):
        t0 = time.perf_counter()
        group_findings(items)
        runs.append(time.perf_counter() - t0)
    console.print(f"consolidate 6 ballots x 8 findings: median {statistics.median(runs) * 1e3:.1f}"
                  f" ms, max {max(runs) * 1e3:.1f} ms (20 runs)")


if __name__ == "__main__":
    main()
