"""Time redaction and description parsing on crafted 1 MB lines and on 500,000-line diffs,
before and after the linear-time rewrite (DESIGN.md section 9).

    python bench/bench_linear.py [--before 0283fca] [--timeout 60] [--repeat 3] [--prs DIR]
                                 [--only NAME]

"Before" loads ``reviewgate/context/redaction.py`` and ``reviewgate/context/packing.py`` as
they were at ``--before`` (``git show REV:PATH``) into temporary modules; "after" is the working
tree. Every case runs in its own process, killed after ``--timeout`` seconds (printed as
``> 60 s``). Figures are the best of ``--repeat`` runs, in seconds, without imports and input
building. The 500,000-line diffs are those of ``bench/bench_redaction.py``.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MB = 1_000_000
#: name -> (what is timed, head, repeated unit, tail) for one line of about 1 MB.
LINES = {
    "token. in a comment": ("redaction", "+    # ", "token.", "\n"),
    "password= repeated": ("redaction", "+", "password=", "hunter2xY9ab0Q77\n"),
    "eyJ- (JWT prefix)": ("redaction", "+", "eyJ-", "\n"),
    "ab://u:pw9@ (URLs)": ("redaction", "+", "ab://u:pw9@", "\n"),
    "Bearer + blanks": ("redaction", "+Authorization: Bearer ", " ", "x\n"),
    "base64 run": ("redaction", "+", "AbC1+/dEfG2hIjK3", "\n"),
    "# x + blanks + y": ("description", "# x", " ", "y\nthe text\n"),
    "#### ... x": ("description", "", "#", " x\nthe text\n"),
    "**bold** ... **": ("description", "**", "*", "**\nthe text\n"),
}
DIFFS = {"500,000-line synthetic diff": "synthetic", "500,000-line real PRs diff": "real"}


def _line(head: str, unit: str, tail: str) -> str:
    return head + unit * ((MB - len(head) - len(tail)) // len(unit)) + tail


def _load(rev: str | None, path: str, attr: str):
    """``attr`` of ``path`` (``reviewgate/context/x.py``) at ``rev``, or of the working tree."""
    if rev is None:
        module = importlib.import_module(path[:-3].replace("/", "."))
        return getattr(module, attr)
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], check=True,
                            capture_output=True, text=True).stdout
    tmp = Path(tempfile.mkdtemp()) / Path(path).name
    tmp.write_text(source, encoding="utf-8")
    package = path[:-3].replace("/", ".").rsplit(".", 1)[0]
    name = f"{package}._before_{tmp.stem}"  # relative imports resolve in the real package
    spec = importlib.util.spec_from_file_location(name, tmp)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return getattr(module, attr)


def _input(name: str, prs: Path) -> tuple[str, str]:
    """(what is timed, the text) of a case."""
    if name in LINES:
        what, head, unit, tail = LINES[name]
        return what, _line(head, unit, tail)
    import bench_redaction as builders

    return "redaction", builders.synthetic() if DIFFS[name] == "synthetic" else \
        builders.real(prs)


def run_one(name: str, rev: str | None, repeat: int, prs: Path) -> float:
    """Best time in seconds of one case (in this process)."""
    what, text = _input(name, prs)
    fn = (_load(rev, "reviewgate/context/redaction.py", "redact_secrets") if what == "redaction"
          else _load(rev, "reviewgate/context/packing.py", "description_sections"))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - start)
    return best


def _child(name: str, rev: str | None, args: argparse.Namespace) -> str:
    """The case run in a new process, as a table cell."""
    cmd = [sys.executable, __file__, "--one", name, "--repeat", str(args.repeat),
           "--prs", str(args.prs)] + (["--rev", rev] if rev else [])
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                              cwd=ROOT)
    except subprocess.TimeoutExpired:
        return f"> {args.timeout:g} s"
    if done.returncode:
        return "error: " + (done.stderr.strip().splitlines() or ["?"])[-1][:40]
    return f"{float(done.stdout):.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="0283fca", help="revision of the old modules")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per case")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--prs", type=Path, default=ROOT.parent / "shared" / "prs")
    parser.add_argument("--only", action="append", help="run only these cases")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--rev", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    if args.one:
        print(run_one(args.one, args.rev, args.repeat, args.prs))
        return 0
    names = [n for n in [*LINES, *DIFFS] if not args.only or n in args.only]
    print(f"{'case':<30} {'timed':<12} {'size':>8} {'before s':>10} {'after s':>9}")
    for name in names:
        what = LINES[name][0] if name in LINES else "redaction"
        size = "1 MB" if name in LINES else "500k ln"
        before = _child(name, args.before, args)
        after = _child(name, None, args)
        print(f"{name:<30} {what:<12} {size:>8} {before:>10} {after:>9}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
