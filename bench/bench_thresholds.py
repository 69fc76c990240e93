"""Consolidation thresholds checked out of sample: chosen on two repositories, scored on the third.

    python bench/bench_thresholds.py [DATASET]     # default: ../shared/eval/crb-public

crb-public holds pull requests of three repositories (sentry, calcom, discourse; the id prefix).
For each repository held out, the grouping thresholds (``threshold`` x ``same_ballot_threshold``
of :class:`reviewgate.core.consolidate.Params`, on a grid) are chosen on the other two by the
mean over the three named reviewer triples of J = same-issue recall - false-merge rate; the
held-out repository is then scored with the chosen thresholds and with the shipped defaults.
Prints one table: per held-out repository, the chosen pair and both sets of scores.
"""

from __future__ import annotations

import itertools
import statistics
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewgate.core import consolidate  # noqa: E402
from reviewgate.core.consolidate import Params  # noqa: E402
from reviewgate.quality.dataset import load_dataset  # noqa: E402
from reviewgate.quality.evaluate import evaluate_recorded  # noqa: E402

TRIPLES = [("augment", "bugbot", "greptile"), ("claude", "coderabbit", "qodo"),
           ("copilot", "gemini", "propel")]
THRESHOLDS = [0.06, 0.08, 0.10, 0.12, 0.14, 0.16, 0.20, 0.25]
SAME_BALLOT = [0.20, 0.30, 0.40]


def scores(ds, params: Params) -> dict[str, float]:
    """Mean scores over the named triples with ``params`` as the grouping's thresholds."""
    saved = consolidate.group_findings.__defaults__
    consolidate.group_findings.__defaults__ = (params,)
    try:
        reports = [evaluate_recorded(ds, list(t)) for t in TRIPLES]
    finally:
        consolidate.group_findings.__defaults__ = saved
    same = statistics.mean(r.same_issue.recall for r in reports)
    merge = statistics.mean(r.same_issue.false_merge_rate for r in reports)
    return {"J": same - merge, "same": same, "merge": merge,
            "corr_f1": statistics.mean(r.corroborated.f1 for r in reports)}


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/eval/crb-public"
    ds = load_dataset(path)
    repos = sorted({pr.id.rsplit("-", 1)[0] for pr in ds.prs})
    table = Table(title="consolidation thresholds out of sample (mean of 3 named triples)")
    for col in ("held out", "chosen (thr, same-ballot)", "J chosen", "J default",
                "same recall chosen/default", "false merge chosen/default",
                "corr. F1 chosen/default"):
        table.add_column(col, justify="right")
    for held in repos:
        train = ds.model_copy(update={"prs": [p for p in ds.prs if not p.id.startswith(held)]})
        test = ds.model_copy(update={"prs": [p for p in ds.prs if p.id.startswith(held)]})
        best = max(itertools.product(THRESHOLDS, SAME_BALLOT),
                   key=lambda g: scores(train, Params(threshold=g[0],
                                                      same_ballot_threshold=g[1]))["J"])
        chosen = scores(test, Params(threshold=best[0], same_ballot_threshold=best[1]))
        default = scores(test, Params())
        table.add_row(held, f"{best[0]:.2f}, {best[1]:.2f}", f"{chosen['J']:.3f}",
                      f"{default['J']:.3f}", f"{chosen['same']:.3f} / {default['same']:.3f}",
                      f"{chosen['merge']:.3f} / {default['merge']:.3f}",
                      f"{chosen['corr_f1']:.3f} / {default['corr_f1']:.3f}")
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
