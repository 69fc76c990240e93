"""Prompt sizes before and after repository context, on the real pull requests.

    python bench/bench_context.py --repo PATH/TO/requests.git [--prs ../shared/prs]

``--repo`` is a clone (bare or not) of https://github.com/psf/requests holding the pull
requests' base and head commits; files are read from it with ``git cat-file`` exactly as
``--git`` mode does. Before: every seat at the old default window (32,768 tokens), one shared
pack, the diff alone. After: the shipped three-seat profile (claude-sonnet-5-5 and gpt-5 from
the built-in model table, glm-4.6:cloud at 128,000 tokens), one pack per seat, the enclosing
functions or whole files at the head SHA and the norms at the base SHA. Token counts are the
estimates the packer uses (3.5 characters per token).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewgate.core.changeset import ChangeSet, parse_unified_diff  # noqa: E402
from reviewgate.cli.inputs import git_reader  # noqa: E402
from reviewgate.core.config import Config  # noqa: E402
from reviewgate.context.packing import estimate_tokens  # noqa: E402
from reviewgate.ensemble.pipeline import build_packs, prepare  # noqa: E402
from reviewgate.context.prompts import Prompter  # noqa: E402

SEATS_BEFORE = [{"name": n, "provider": "openai-compatible", "model": "m",
                 "context_window": 32768} for n in ("claude", "gpt", "glm")]
SEATS_AFTER = [{"name": "claude", "provider": "anthropic", "model": "claude-sonnet-5-5"},
               {"name": "gpt", "provider": "openai", "model": "gpt-5"},
               {"name": "glm", "provider": "ollama", "model": "glm-4.6:cloud",
                "base_url": "https://ollama.com", "context_window": 128000}]


def prompt_tokens(pack, prompter: Prompter) -> int:
    return sum(estimate_tokens(m["content"]) for m in prompter.review_messages(pack, "tech"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", required=True, help="git dir of a psf/requests clone")
    parser.add_argument("--prs", default=str(ROOT.parent / "shared" / "prs"))
    args = parser.parse_args()
    repo = args.repo
    if (Path(repo) / ".git").is_dir():
        repo = str(Path(repo) / ".git")
    table = Table(title="prompt tokens per ballot (tech hat), before -> after")
    for col in ("pull request", "seat", "before: prompt", "before: diff cut/left out",
                "after: budget", "after: prompt", "after: diff cut/left out",
                "after: context whole/excerpts/did not fit", "pack ms"):
        table.add_column(col)
    prompter = Prompter(nonce="0" * 16)
    for folder in sorted(p for p in Path(args.prs).iterdir() if (p / "diff.patch").is_file()):
        meta = json.loads((folder / "pr.json").read_text())
        diff = (folder / "diff.patch").read_text()
        change = ChangeSet(title=meta["title"], body=meta.get("body", ""), diff=diff,
                           files=parse_unified_diff(diff), head_sha=meta["head_sha"],
                           base_sha=meta["base_sha"])
        before_cfg = Config.model_validate({"profiles": {"p": {"seats": SEATS_BEFORE}}})
        after_cfg = Config.model_validate({"profiles": {"p": {"seats": SEATS_AFTER}}})
        _, before_profile = before_cfg.profile("p")
        _, after_profile = after_cfg.profile("p")
        before = build_packs(before_profile, change, prompter, config=before_cfg)["claude"]
        started = time.perf_counter()
        clean, ignored, found, _ = prepare(change, after_cfg, after_profile,
                                          functools.partial(git_reader, git_dir=repo))
        packs = build_packs(after_profile, clean, prompter, config=after_cfg, repo=found,
                            ignored=ignored)
        ms = (time.perf_counter() - started) * 1000
        for seat in ("claude", "gpt", "glm"):
            pack = packs[seat]
            table.add_row(folder.name, seat, str(prompt_tokens(before, prompter)),
                          f"{len(before.cut)}/{len(before.omitted)}", str(pack.budget_tokens),
                          str(prompt_tokens(pack, prompter)),
                          f"{len(pack.cut)}/{len(pack.omitted)}",
                          f"{len(pack.whole_files)}/"
                          f"{len(pack.context_files) - len(pack.whole_files)}/"
                          f"{len(pack.context_left_out)}", f"{ms:.0f}")
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
