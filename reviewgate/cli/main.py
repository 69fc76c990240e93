"""The command line's parser and entry point; the exit codes are listed in :mod:`.common`."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .. import __version__
from ..core.errors import ReviewgateError, UserError
from .commands import (cmd_completion, cmd_config_check, cmd_config_schema, cmd_eval, cmd_init,
                       cmd_replay, cmd_review)
from .common import EXIT_ERROR, EXIT_FOR, EXIT_USAGE, add_command, err

__all__ = ["EXIT_FOR", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="reviewgate", description="Multi-model ensemble pull-request review gate.")
    parser.add_argument("--version", action="version", version=f"reviewgate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    review = add_command(
        sub, "review", "review a diff or git range and decide",
        "reviewgate review --diff change.patch --title 'Fix retries' --out decision.json",
        "reviewgate review --git main...HEAD --profile canary",
        "reviewgate review --git main...HEAD --previous round1.json --out round2.json",
        "git show --format= HEAD | reviewgate review --diff - --estimate")
    src = review.add_argument_group("input (default: --git HEAD~1..HEAD)")
    src.add_argument("--diff", metavar="FILE", help="a unified diff file; - reads stdin")
    src.add_argument("--git", metavar="BASE..HEAD", help="a range of the local repository")
    src.add_argument("--replay", metavar="DECISION_JSON",
                     help="reproduce a recorded run from its decision.json (no model calls)")
    src.add_argument("--previous", metavar="DECISION_JSON",
                     help="the previous round's decision.json: with --git, review only what "
                          "changed since its head when it is an ancestor and the base is the "
                          "same (the decision still covers the whole range)")
    review.add_argument("--title", help="pull request title")
    review.add_argument("--body", help="pull request description")
    review.add_argument("--body-file", metavar="FILE", help="read the description from FILE")
    review.add_argument("--profile", help="profile name (default: the config's default)")
    review.add_argument("--config", metavar="PATH", help="reviewgate.toml or pyproject.toml")
    review.add_argument("--out", metavar="FILE", help="write decision.json here")
    review.add_argument("--format", choices=["markdown", "json"], default="markdown")
    review.add_argument("--estimate", action="store_true",
                        help="print the tokens and cost the review would take; call no model")
    review.add_argument("--no-cache", action="store_true",
                        help="ask every model again (the verdict cache is refreshed, not read)")
    review.set_defaults(func=cmd_review)

    config = sub.add_parser("config", help="inspect the configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = add_command(
        config_sub, "check", "effective configuration and credentials",
        "reviewgate config check",
        "reviewgate config check --config .forgejo/reviewgate.toml --profile canary")
    check.add_argument("--config", metavar="PATH")
    check.add_argument("--profile")
    check.set_defaults(func=cmd_config_check)
    schema = config_sub.add_parser("schema", help="the JSON Schema of reviewgate.toml")
    schema.set_defaults(func=cmd_config_schema)

    init = add_command(
        sub, "init", "write a commented reviewgate.toml and the workflow",
        "reviewgate init",
        "reviewgate init --forge github --dir path/to/repo")
    init.add_argument("--forge", choices=["forgejo", "gitea", "github"], default="forgejo")
    init.add_argument("--dir", default=".", help="the repository root (default: here)")
    init.set_defaults(func=cmd_init)

    completion = add_command(
        sub, "completion", "print a shell completion script",
        "reviewgate completion bash > ~/.local/share/bash-completion/completions/reviewgate",
        "reviewgate completion zsh > ~/.zfunc/_reviewgate")
    completion.add_argument("shell", choices=["bash", "zsh", "tcsh"])
    completion.set_defaults(func=cmd_completion, parser=parser)

    ev = add_command(
        sub, "eval", "measure consolidation and review quality on a dataset",
        "reviewgate eval ../shared/eval/crb-public --recorded augment,bugbot,greptile",
        "reviewgate eval data/dataset.json --profile canary --judge claude --format json")
    ev.add_argument("dataset", help="dataset.json (or its folder)")
    ev.add_argument("--recorded", metavar="A,B,C",
                    help="replay these reviewers' recorded findings as seats (no model call)")
    ev.add_argument("--judge", metavar="SEAT",
                    help="live runs: a seat that judges matches to golden comments")
    ev.add_argument("--allow-urls", action="store_true",
                    help="live runs: fetch diffs the dataset gives as http(s) URLs (same-origin "
                         "redirects only, size-capped); files are read only inside its folder")
    ev.add_argument("--profile", help="profile name (live runs; recorded runs use its policy)")
    ev.add_argument("--config", metavar="PATH", help="reviewgate.toml or pyproject.toml")
    ev.add_argument("--format", choices=["markdown", "json"], default="markdown")
    ev.add_argument("--out", metavar="FILE", help="also write the report here")
    ev.set_defaults(func=cmd_eval)

    rp = add_command(
        sub, "replay", "decide recorded ballots again under another policy (no model call)",
        "reviewgate replay decision.json --config stricter.toml",
        "reviewgate replay runs/ --profile canary --format json")
    rp.add_argument("path", help="a decision.json, or a folder of them")
    rp.add_argument("--config", metavar="PATH", help="the configuration whose policy to try")
    rp.add_argument("--profile", help="the profile whose policy to try")
    rp.add_argument("--format", choices=["markdown", "json"], default="markdown")
    rp.set_defaults(func=cmd_replay)

    from .forge import add_forge_commands
    from .report import add_report_command
    add_forge_commands(sub)
    add_report_command(sub)
    from .dataset import add_dataset_commands
    add_dataset_commands(sub)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run one subcommand and return its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UserError as exc:
        err(str(exc))
        return EXIT_USAGE
    except ReviewgateError as exc:
        err(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt as exc:
        err(f"interrupted ({exc})" if str(exc) else "interrupted")
        return EXIT_ERROR
    except Exception as exc:  # the last resort: one line and exit 12, never a traceback
        first = (str(exc).splitlines() or [""])[0][:300]
        err(f"internal error: {type(exc).__name__}: {first} (please report this)")
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
