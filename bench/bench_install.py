"""The gate's own install step, pip against uv, cold and warm (what every pull request pays first).

    python bench/bench_install.py [--runs 3]

Installs this checkout (``reviewgate-ensemble`` without extras, as ``action.yml`` does) into a
fresh virtual environment each time: *cold* with an empty package cache (everything downloaded
from the package index and built), *warm* with the cache the cold run filled. pip runs as
``python -m pip install --cache-dir C PATH`` in a ``python -m venv``; uv as ``uv pip install
--cache-dir C --python VENV PATH`` in a ``uv venv``. Needs ``uv`` on PATH (``pip install uv``)
and the package index. Prints the wall seconds of each: the cold run once, the warm runs'
minimum and median.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str]) -> float:
    """Wall seconds of one command (raises CalledProcessError when it fails)."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def pip_install(cache: Path, work: Path) -> float:
    """A fresh venv, then ``pip install`` of this checkout, timed (the venv's creation not)."""
    venv = work / f"pip-{time.monotonic_ns()}"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    return timed([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                  "--cache-dir", str(cache), str(ROOT)])


def uv_install(cache: Path, work: Path) -> float:
    """A fresh ``uv venv``, then ``uv pip install`` of this checkout, timed (the install)."""
    venv = work / f"uv-{time.monotonic_ns()}"
    subprocess.run(["uv", "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    return timed(["uv", "pip", "install", "--quiet", "--cache-dir", str(cache), "--python",
                  str(venv / "bin" / "python"), str(ROOT)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="warm runs per installer")
    args = parser.parse_args()
    if shutil.which("uv") is None:
        raise SystemExit("uv is not on PATH: pip install uv")
    print(f"{'installer':<10} {'cold s':>8} {'warm min s':>11} {'warm median s':>14}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, install in (("pip", pip_install), ("uv", uv_install)):
            cache = work / f"cache-{name}"
            cold = install(cache, work)
            warm = [install(cache, work) for _ in range(args.runs)]
            print(f"{name:<10} {cold:>8.1f} {min(warm):>11.1f} {statistics.median(warm):>14.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
