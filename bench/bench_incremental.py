"""Prompt tokens of a round after a small push: whole pull request vs incremental diff.

    python bench/bench_incremental.py --repo PATH/TO/requests.git
        [--pr ../shared/prs/requests-7272-inline-types] [--push-file src/requests/hooks.py]

A real pull request (psf/requests#7272 by default: 20 files, +1308/-525) is replayed as two
pushes with ``git``: push 1 is the pull request's head tree with ``--push-file`` still at the
base version, push 2 adds that file's change (a small push). ``--repo`` is a clone (bare or not)
of https://github.com/psf/requests holding the base and head commits. Then:

- round 1 reviews ``BASE..PUSH1`` (whole) and writes its record;
- round 2 is run twice on ``BASE..PUSH2``: whole (no previous round) and incremental
  (``--previous`` round 1's record).

The seats are the shipped three-seat profile (claude-sonnet-5-5 and gpt-5 from the built-in
model table, glm-4.6:cloud at 128,000 tokens), two hats; every ballot is answered in process by a
counting double (no network), which records the messages it was sent. Tokens are estimated as
the packer does (3.5 characters per token) from the messages actually sent, summed over the six
ballots. Round 1's tech-claude ballot raises two findings so round 2 has findings to carry.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewgate.cli.inputs import GitHistory, change_from_git, git_reader, previous_round  # noqa: E402
from reviewgate.context.packing import estimate_tokens  # noqa: E402
from reviewgate.core.config import Config  # noqa: E402
from reviewgate.ensemble.pipeline import review_change  # noqa: E402
from reviewgate.providers.base import Completion  # noqa: E402
from reviewgate.testing import verdict_json  # noqa: E402

SEATS = [{"name": "claude", "provider": "anthropic", "model": "claude-sonnet-5-5"},
         {"name": "gpt", "provider": "openai", "model": "gpt-5"},
         {"name": "glm", "provider": "ollama", "model": "glm-4.6:cloud",
          "base_url": "https://ollama.com", "context_window": 128000}]


class Counting:
    """A provider double: answers OK (round 1's tech-claude raises two findings; in a round
    with carried findings every ballot marks C1 resolved and the rest open) and counts the
    prompt it got."""

    name = "counting"
    schema_dialect = "strict"

    def __init__(self, seat: str, risks: list[dict]):
        self.seat, self.risks, self.sent = seat, risks, []

    def slot(self, hat: str = ""):
        return contextlib.nullcontext()

    async def complete(self, messages, *, schema, timeout_s, hat=""):
        self.sent.append(sum(estimate_tokens(m["content"]) for m in messages))
        user = messages[-1]["content"]
        ids = [line.split()[1] for line in user.splitlines() if line.startswith("- C")
               and line.split()[1][1:].isdigit()]
        risks = self.risks if hat == "tech" and not ids else []
        marks = {i: "resolved" if i == "C1" else "open" for i in ids}
        text = verdict_json("OK", risks=risks, carried=marks if ids else None)
        return Completion(text=text, tokens_in=self.sent[-1], tokens_out=60)

    async def aclose(self):
        return None


def git(cwd: str, *args: str, env: dict | None = None) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def two_pushes(repo: str, base: str, head: str, push_file: str, work: str) -> tuple[str, str]:
    """A branch at ``base`` with push 1 (head tree, ``push_file`` at base) and push 2 (head)."""
    git(work, "init", "-q")
    git(work, "fetch", "-q", repo, base, head)
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
           "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}
    git(work, "checkout", "-q", "-b", "pr", base)
    git(work, "read-tree", "-u", "--reset", head)
    git(work, "checkout", base, "--", push_file)
    git(work, "commit", "-q", "-m", "Add inline types (push 1)", env=env)
    push1 = git(work, "rev-parse", "HEAD")
    git(work, "checkout", head, "--", push_file)
    git(work, "commit", "-q", "-m", f"Type {push_file} (push 2)", env=env)
    return push1, git(work, "rev-parse", "HEAD")


def run(config: Config, spec: str, previous=None, history=None, risks=None):
    providers = {s["name"]: Counting(s["name"], risks or []) for s in SEATS}
    started = time.perf_counter()
    record = review_change(change_from_git(spec), config=config, providers=providers,
                           reader=git_reader, previous=previous, history=history,
                           cache_read=False)
    wall = time.perf_counter() - started
    tokens = sum(sum(p.sent) for p in providers.values())
    return record, tokens, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", required=True, help="git dir of a psf/requests clone")
    parser.add_argument("--pr", default=str(ROOT.parent / "shared" / "prs" /
                                            "requests-7272-inline-types"))
    parser.add_argument("--push-file", default="src/requests/hooks.py")
    args = parser.parse_args()
    meta = json.loads((Path(args.pr) / "pr.json").read_text())
    repo = str(Path(args.repo).resolve())
    config = Config.model_validate({"profiles": {"p": {"seats": SEATS}}, "cache": False})
    with tempfile.TemporaryDirectory() as work:
        push1, push2 = two_pushes(repo, meta["base_sha"], meta["head_sha"], args.push_file, work)
        small = git(work, "diff", "--shortstat", push1, push2)
        os.chdir(work)
        risks = [{"severity": "high", "title": "dispatch_hook loses the hook's return type",
                  "location": f"{args.push_file}:1", "detail": "The hooks module is untyped in "
                  "this push while the rest of the package is typed.",
                  "recommendation": "Type dispatch_hook."},
                 {"severity": "medium", "title": "typecheck workflow runs on every push",
                  "location": ".github/workflows/typecheck.yml:1", "detail": "No paths filter.",
                  "recommendation": "Add a paths filter."}]
        r1, t1, w1 = run(config, f"{meta['base_sha']}..{push1}", risks=risks)
        Path(work, "round1.json").write_text(r1.dump())
        prev = previous_round(str(Path(work, "round1.json")))
        whole, t_whole, w_whole = run(config, f"{meta['base_sha']}..{push2}")
        inc, t_inc, w_inc = run(config, f"{meta['base_sha']}..{push2}", previous=prev,
                                history=GitHistory())
    table = Table(title=f"{meta['source']} replayed as two pushes; push 2: {args.push_file} "
                        f"({small})")
    for col in ("round", "mode", "files in the diff", "prompt tokens (6 ballots)",
                "share of a whole round", "decision", "carried resolved/open", "wall s"):
        table.add_column(col)
    table.add_row("1", r1.input.round.mode, str(len(r1.input.files)), f"{t1:,}", "",
                  r1.decision.decision, "", f"{w1:.2f}")
    table.add_row("2 (whole)", whole.input.round.mode, str(len(whole.input.files)),
                  f"{t_whole:,}", "100%", whole.decision.decision, "", f"{w_whole:.2f}")
    resolved = len(inc.decision.resolved)
    table.add_row("2 (incremental)", inc.input.round.mode, str(len(inc.input.files)),
                  f"{t_inc:,}", f"{100 * t_inc / t_whole:.1f}%", inc.decision.decision,
                  f"{resolved}/{len(inc.decision.carried) - resolved}", f"{w_inc:.2f}")
    Console(width=200).print(table)
    print(f"round 2 with --previous reviewed {inc.input.round.describe()}")
    if inc.input.round.incremental:
        met = "met" if t_inc <= 0.3 * t_whole else "MISSED"
        print(f"target: at most 30% of a whole round -> {met}")


if __name__ == "__main__":
    main()
