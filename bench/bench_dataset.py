"""Benchmark: ``reviewgate dataset build --last 50`` on the Forgejo and GitHub doubles.

    python bench/bench_dataset.py [RUNS]      # default: 3 runs per forge

Each double holds 70 closed pull requests (60 merged, 10 closed unmerged, interleaved), each
changing one file of 40 lines in ``src/``, in three shapes, a third each:

* **clean**: one approval ("LGTM") -> one ``expect: merge`` entry of the final diff;
* **commented**: a review with two line comments on the head, and an approval -> one entry;
* **earlier commit**: a review with one line comment on the first push, then a fixing push and
  an approval -> one entry of the first push's diff (merge base to that commit).

Prints the wall time of each build (the doubles run in-process on loopback; the Forgejo double
validates every request and response against the OpenAPI document, which is most of its time),
the requests by endpoint, and the requests per pull request of each shape (a request that names
no pull request, such as a compare, a tree or a file read, counts for the one read last).
"""

from __future__ import annotations

import collections
import contextlib
import io
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fake_forgejo import FakeForgejo, FakePR  # noqa: E402
from fake_github_history import FakeGitHubHistory  # noqa: E402
from history import hunk, sha, text, unified  # noqa: E402

from reviewgate.cli import main  # noqa: E402

MERGED, UNMERGED, LAST = 60, 10, 50
SHAPES = ("clean", "commented", "earlier commit")


def _shape(n: int) -> str:
    return SHAPES[n % 3]


def _history(n: int) -> dict:
    """Commits, texts and reviews of pull request ``n``."""
    path = f"src/mod{n}.py"
    base, first, head = sha(f"b{n}"), sha(f"f{n}"), sha(f"h{n}")
    texts = {base: text({}), first: text({3: "    while n: pass"}),
             head: text({3: "    while n > 0: n -= 1", 7: "value_7 = 70"})}
    diff = unified(path, texts[base], texts[head])
    shape = _shape(n)
    reviews = [("alice", "APPROVED", "LGTM", head, [])]
    if shape == "commented":
        reviews.insert(0, ("bob", "COMMENT", "", head, [(3, "Does this loop end?"),
                                                         (7, "Why 70 and not 7?")]))
    elif shape == "earlier commit":
        reviews.insert(0, ("bob", "COMMENT", "", first, [(3, "This loop never ends")]))
    return {"path": path, "base": base, "first": first, "head": head, "texts": texts,
            "diff": diff, "reviews": reviews}


def _stamp(k: int) -> str:
    return f"2026-10-{1 + k // 24:02d}T{k % 24:02d}:00:00Z"


def forgejo() -> FakeForgejo:
    fake = FakeForgejo()
    for k, n in enumerate(range(1, MERGED + UNMERGED + 1)):
        h = _history(n)
        fake.trees.update({sha_: {h["path"]: t} for sha_, t in h["texts"].items()})
        fake.parents.update({h["base"]: [], h["first"]: [h["base"]], h["head"]: [h["first"]]})
        merged = n <= MERGED
        fake.add_pr(FakePR(number=n, title=f"Change {n}", body="", diff=h["diff"],
                           head_sha=h["head"], base_sha=h["base"], merge_base=h["base"],
                           files=[{"filename": h["path"], "status": "modified",
                                   "additions": 2, "deletions": 2, "changes": 4}],
                           author="carol", state="closed",
                           merged_at=_stamp(k) if merged else "", updated_at=_stamp(k)))
        for user, state, body, commit, comments in h["reviews"]:
            d = unified(h["path"], h["texts"][h["base"]], h["texts"][commit])
            fake.add_review(n, user, state, body, commit, [
                {"path": h["path"], "body": c, "new_position": line, "diff_hunk": hunk(d, line)}
                for line, c in comments])
    return fake


def github() -> FakeGitHubHistory:
    fake = FakeGitHubHistory()
    for k, n in enumerate(range(1, MERGED + UNMERGED + 1)):
        h = _history(n)
        fake.trees.update({sha_: {h["path"]: t} for sha_, t in h["texts"].items()})
        fake.parents.update({h["base"]: [], h["first"]: [h["base"]], h["head"]: [h["first"]]})
        merged = n <= MERGED
        diff = h["diff"]
        fake.add_pull(n, title=f"Change {n}", author="carol", head=h["head"], base=h["base"],
                      diff=diff, files=[{"filename": h["path"], "status": "modified",
                                         "additions": 2, "deletions": 2,
                                         "patch": diff[diff.index("@@"):]}],
                      merged_at=_stamp(k) if merged else None, updated_at=_stamp(k))
        for user, state, body, commit, comments in h["reviews"]:
            state = {"COMMENT": "COMMENTED"}.get(state, state)
            d = unified(h["path"], h["texts"][h["base"]], h["texts"][commit])
            fake.add_review(n, user, state, body, commit, comments=[
                {"path": h["path"], "body": c, "original_line": line,
                 "line": None if commit == h["first"] else line,
                 "diff_hunk": hunk(d, line)} for line, c in comments])
    return fake


def _endpoint(path: str) -> str:
    path = path.split("?", 1)[0]
    path = re.sub(r"^/api/v[13]/repos/owner/repo", "", path)
    path = re.sub(r"/pulls/\d+", "/pulls/{n}", path)
    path = re.sub(r"/reviews/\d+", "/reviews/{id}", path)
    path = re.sub(r"[0-9a-f]{40}", "{sha}", path)
    return re.sub(r"/raw/.*", "/raw/{path}", path)


def run(kind: str, runs: int) -> None:
    times = []
    counts: collections.Counter[str] = collections.Counter()
    per_pull: dict[int, int] = collections.Counter()
    for _ in range(runs):
        fake = forgejo() if kind == "forgejo" else github()
        os.environ["REVIEWGATE_FORGE_TOKEN"] = "bot-token" if kind == "forgejo" else "gh-token"
        out = tempfile.mkdtemp()
        quiet = io.StringIO()
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            started = time.perf_counter()
            code = main(["dataset", "build", "--forge", kind, "--url", fake.url, "--repo",
                         "owner/repo", "--last", str(LAST), "--out", out])
            times.append(time.perf_counter() - started)
        assert code == 0
        log = [entry[1] for entry in fake.log]
        fake.close()
        counts = collections.Counter(_endpoint(p) for p in log)
        per_pull = collections.Counter()
        current = 0  # requests naming no pull request belong to the one read last
        for p in log:
            m = re.search(r"/pulls/(\d+)", p)
            current = int(m.group(1)) if m else current
            if not p.split("?")[0].endswith("/pulls"):
                per_pull[current] += 1
        if kind == "forgejo":
            assert fake.violations == [], fake.violations[:3]
    print(f"\n{kind}: dataset build --last {LAST} over {MERGED + UNMERGED} closed pull "
          f"requests: median {statistics.median(times):.2f} s wall "
          f"({', '.join(f'{t:.2f}' for t in times)})")
    print(f"  requests: {sum(counts.values())} in all, {sum(counts.values()) / LAST:.2f} per "
          "pull request")
    for endpoint, count in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"    {count:5d}  {endpoint}")
    chosen = range(MERGED - LAST + 1, MERGED + 1)
    for shape in SHAPES:
        mine = [per_pull[n] for n in chosen if _shape(n) == shape]
        print(f"  {shape:15s} {statistics.mean(mine):.1f} requests per pull request")
    print(f"  listing: {counts['/pulls']} requests")


def main_() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    for kind in ("forgejo", "github"):
        run(kind, runs)


if __name__ == "__main__":
    main_()
