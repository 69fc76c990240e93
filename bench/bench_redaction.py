"""Time secret redaction on a 500,000-line diff (the size the packer is tested with).

    python bench/bench_redaction.py [--prs ../shared/prs] [--repeat 5] [--module FILE]

Two inputs of 500,000 lines each: a synthetic one (5,000 files x 100 added lines, as
``tests/test_diff_input.py`` builds) and the real diffs of ``--prs`` repeated until they reach
500,000 lines. ``--module`` times another copy of ``reviewgate/redaction.py`` (for a
before/after figure: ``git show REV:reviewgate/redaction.py > /tmp/old.py``). Prints the
minimum and median wall time in seconds over ``--repeat`` runs, and the redaction count.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LINES = 500_000


def synthetic() -> str:
    """5,000 files of 100 added lines each."""
    out = []
    for i in range(5000):
        out.append(f"diff --git a/src/m{i}.py b/src/m{i}.py\n--- a/src/m{i}.py\n"
                   f"+++ b/src/m{i}.py\n@@ -0,0 +1,100 @@\n")
        out.extend(f"+value_{i}_{k} = {k}\n" for k in range(100))
    return "".join(out)


def real(prs: Path) -> str:
    """The real pull requests' diffs, repeated to 500,000 lines."""
    diffs = [p.read_text(encoding="utf-8") for p in sorted(prs.glob("*/diff.patch"))]
    if not diffs:
        raise SystemExit(f"no */diff.patch under {prs}")
    lines: list[str] = []
    while len(lines) < LINES:
        for d in diffs:
            lines.extend(d.splitlines())
    return "\n".join(lines[:LINES]) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=Path, default=ROOT.parent / "shared" / "prs")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--module", type=Path, help="another redaction.py to time")
    args = parser.parse_args()
    if args.module:
        spec = importlib.util.spec_from_file_location("redaction_under_test", args.module)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        redact = module.redact_secrets
    else:
        from reviewgate.context.redaction import redact_secrets as redact
    print(f"{'input':<12} {'lines':>8} {'MB':>6} {'min s':>7} {'median s':>9} {'found':>6}")
    for name, text in (("synthetic", synthetic()), ("real PRs", real(args.prs))):
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            _, found = redact(text)
            times.append(time.perf_counter() - start)
        print(f"{name:<12} {text.count(chr(10)):>8} {len(text) / 1e6:>6.1f} {min(times):>7.3f} "
              f"{statistics.median(times):>9.3f} {found:>6}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
