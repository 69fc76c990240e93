"""Count and list the redactions in real diffs, before and after a change to the redaction.

    python bench/redaction_count.py [--prs ../shared/prs] [--before 0283fca] [--diff FILE ...]

Reads every ``*/diff.patch`` under ``--prs``, every ``*.patch``/``*.diff`` under ``tests/data/``
and each ``--diff``, redacts each with ``reviewgate/context/redaction.py`` as it was at ``--before``
(``git show REV:PATH``, loaded into a temporary module) and as it is in the working tree, and
prints the counts and one row per redacted line and kind: file, line number, kind and the line
as the redaction left it, cut to about 100 characters around the first mark. A secret is never
printed: each value is replaced by its kind, and a line on which the other version redacts
more is withheld.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_MARK = re.compile(r"\[REDACTED:([a-z0-9-]+)\]")
WIDTH = 100


def load_before(rev: str):
    """``redact_secrets`` of ``reviewgate/context/redaction.py`` at ``rev``."""
    path = "reviewgate/context/redaction.py"
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], check=True,
                            capture_output=True, text=True).stdout
    tmp = Path(tempfile.mkdtemp()) / "redaction.py"
    tmp.write_text(source, encoding="utf-8")
    name = "reviewgate.context._before_redaction"  # its relative imports resolve in the package
    spec = importlib.util.spec_from_file_location(name, tmp)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.redact_secrets


def diffs(prs: Path) -> list[Path]:
    """The diff files read, in a stable order."""
    found = sorted(prs.glob("*/diff.patch"))
    data = ROOT / "tests" / "data"
    found += sorted(p for p in data.rglob("*") if p.suffix in (".patch", ".diff"))
    return found


def _shown(line: str) -> str:
    """``line`` cut to about :data:`WIDTH` characters around its first redaction mark."""
    first = _MARK.search(line)
    start = max(0, (first.start() if first else 0) - WIDTH // 3)
    cut = line[start:start + WIDTH]
    return ("..." if start else "") + cut + ("..." if start + WIDTH < len(line) else "")


def marks(before: str, after: str) -> Counter[str]:
    """Kinds of the marks ``after`` has that ``before`` had not (one line)."""
    return Counter(_MARK.findall(after)) - Counter(_MARK.findall(before))


def rows(text: str, mine: str, other: str) -> list[tuple[int, str, str]]:
    """(line number, kind, line as shown) for each redacted line of ``mine`` (the text as one
    version left it; ``other``: as the other version left it)."""
    out = []
    for n, (line, a, b) in enumerate(zip(text.split("\n"), mine.split("\n"),
                                         other.split("\n"), strict=False), start=1):
        kinds = marks(line, a)
        if not kinds:
            continue
        extra = marks(line, b) - kinds
        shown = "(withheld: the other version redacts more on this line)" if extra else \
            _shown(a)
        for kind, count in sorted(kinds.items()):
            out.append((n, kind + (f" x{count}" if count > 1 else ""), shown))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prs", type=Path, default=ROOT.parent / "shared" / "prs")
    parser.add_argument("--before", default="0283fca", help="revision of the old redaction")
    parser.add_argument("--diff", type=Path, action="append", default=[], help="another diff")
    args = parser.parse_args()
    from reviewgate.context.redaction import redact_secrets as after

    before = load_before(args.before)
    totals = {"before": 0, "after": 0}
    for path in diffs(args.prs) + [p.resolve() for p in args.diff]:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        old, n_old = before(text)
        new, n_new = after(text)
        totals["before"] += n_old
        totals["after"] += n_new
        name = next((path.relative_to(base) for base in (args.prs, ROOT)
                     if path.is_relative_to(base)), path)
        print(f"{name}: before {n_old}, after {n_new}")
        for label, mine, other in (("before", old, new), ("after", new, old)):
            for line, kind, shown in rows(text, mine, other):
                print(f"  {label:<6} line {line:>5}  {kind:<14} {shown}")
    print(f"total: before {totals['before']}, after {totals['after']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
