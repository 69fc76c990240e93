"""What every command of the CLI shares: exit codes, error printing, subcommand help, Actions
step outputs.

Exit codes (documented in the README):

====  ==========================================================
0     merge (gate-status: the gate passed for the current head)
10    defer
11    split
12    error: the gate could not decide (quorum, crash, forge failure)
13    gate-status: pending, missing or stale (no decision for the current head and merge base)
14    gate-status: decided, not passing (defer, split, error)
2     usage or configuration mistake
====  ==========================================================
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from ..core.errors import UserError, redact

if TYPE_CHECKING:
    from ..ensemble.record import Record

__all__ = ["EXIT_ERROR", "EXIT_FOR", "EXIT_NOT_DECIDED", "EXIT_NOT_PASSED", "EXIT_USAGE",
           "actions_outputs",
           "add_command", "err", "forge_target"]

EXIT_FOR = {"merge": 0, "defer": 10, "split": 11, "error": 12}
EXIT_USAGE = 2
EXIT_ERROR = 12
#: gate-status: no decision for the current head and merge base yet (pending, missing, stale).
EXIT_NOT_DECIDED = 13
#: gate-status: decided, and not a pass (defer, split, error).
EXIT_NOT_PASSED = 14


def forge_target(args: argparse.Namespace) -> tuple[str, str, str]:
    """``(kind, url, repo)`` of the forge a command talks to: ``--forge``/``--url``/``--repo``,
    else the Actions environment (``REVIEWGATE_FORGE``, ``GITHUB_SERVER_URL``,
    ``GITHUB_REPOSITORY``); the kind defaults to github for github.com, forgejo otherwise.

    Raises:
        UserError: no URL or no repository.
    """
    url = args.url or os.environ.get("GITHUB_SERVER_URL")
    repo = args.repo or os.environ.get("GITHUB_REPOSITORY")
    if not url or not repo:
        raise UserError("--url and --repo are required outside Actions "
                        "(GITHUB_SERVER_URL / GITHUB_REPOSITORY)")
    kind = args.forge or os.environ.get("REVIEWGATE_FORGE") or (
        "github" if "github.com" in url else "forgejo")
    return kind, url, repo


def err(message: str) -> None:
    """Print one redacted line to standard error."""
    print(f"reviewgate: {redact(message)}", file=sys.stderr)


def add_command(sub: argparse._SubParsersAction, name: str, help_: str,
                *examples: str) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` ends with ``examples`` (one command line each)."""
    return sub.add_parser(name, help=help_, formatter_class=argparse.RawDescriptionHelpFormatter,
                          epilog="examples:\n" + "\n".join(f"  {e}" for e in examples))


def actions_outputs(record: Record) -> None:
    """In Actions: the decision comment to the step summary, ``decision=`` to the outputs."""
    from ..publish.render import render_decision

    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(render_decision(record) + "\n")
    outputs = os.environ.get("GITHUB_OUTPUT")
    if outputs:
        with open(outputs, "a", encoding="utf-8") as fh:
            fh.write(f"decision={record.decision.decision}\nstate={record.decision.state}\n")
