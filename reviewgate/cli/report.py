"""``reviewgate report``: which seat earns its place, from the gate's own decision comments on
the pull requests updated since a date (:mod:`reviewgate.gate.records` reads them,
:mod:`reviewgate.quality.outcomes` follows each finding to its outcome). No model is called.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Callable, Iterator

__all__ = ["add_report_command", "cmd_report", "parse_since"]


def parse_since(text: str) -> dt.datetime:
    """``--since``: a date (``2026-11-01``, midnight UTC) or an RFC 3339 time
    (``2026-11-01T08:00:00Z``, ``...+02:00``).

    Raises:
        argparse.ArgumentTypeError: anything else.
    """
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date: {text[:40]!r} (2026-11-01, or 2026-11-01T08:00:00Z)") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


@contextlib.contextmanager
def _progress() -> Iterator[Callable[[object], None]]:
    """A live count of the pull requests read on a terminal; one line per 25 in CI logs."""
    from rich.console import Console

    console = Console(stderr=True)
    seen = [0]
    if console.is_terminal and not os.environ.get("CI"):
        with console.status("reading pull requests…") as status:
            def live(record) -> None:
                seen[0] += 1
                status.update(f"reading pull requests: {seen[0]} read "
                              f"(#{record.pr.number}, updated {record.pr.updated_at})")
            yield live
    else:
        def lines(record) -> None:
            seen[0] += 1
            if seen[0] % 25 == 0:
                print(f"reviewgate report: {seen[0]} pull requests read "
                      f"(last #{record.pr.number}, updated {record.pr.updated_at})",
                      file=sys.stderr)
        yield lines
    print(f"reviewgate report: {seen[0]} pull request(s) read", file=sys.stderr)


def cmd_report(args: argparse.Namespace) -> int:
    """``reviewgate report``: per seat and hat, findings raised, corroborated, resolved by a
    later commit, not raised again, dismissed by an override, open at merge; the share
    resolved; blockers; cost per pull request. Markdown table or JSON on standard output."""
    from ..context.prompts import Prompter
    from ..core.config import load_config
    from ..gate.records import gate_records
    from ..quality.outcomes import pull_outcome, report
    from .forge import _forge

    config = load_config(args.config)
    forge, _ = _forge(args, config.gate.bot_login)
    try:
        login = (args.bot_login or os.environ.get("REVIEWGATE_BOT_LOGIN")
                 or config.gate.bot_login or forge.whoami())
        pulls, skipped = [], []
        with _progress() as on_progress:
            for rec in gate_records(forge, since=args.since, login=login,
                                    on_progress=on_progress):
                if rec.problem:
                    skipped.append(rec.problem)
                elif rec.rounds:
                    pulls.append(pull_outcome(rec.pr.number, rec.rounds, merged=rec.merged))
    finally:
        forge.close()
    result = report(pulls, since=args.since.isoformat())
    result.skipped = skipped
    if args.format == "json":
        text = result.model_dump_json(indent=2) + "\n"
    else:
        text = Prompter().render("outcomes_report.md.j2", r=result)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 0


def add_report_command(sub: argparse._SubParsersAction) -> None:
    """Register ``report`` on the CLI's subparsers."""
    from .common import add_command

    rep = add_command(
        sub, "report", "which seat earns its place: findings followed to their outcome",
        "reviewgate report --forge forgejo --url https://forge.example --repo o/r "
        "--since 2026-11-01",
        "reviewgate report --repo o/r --url https://github.com --since 2026-11-01 "
        "--format json --out seats.json")
    rep.add_argument("--forge", choices=["forgejo", "gitea", "github"],
                     help="default: REVIEWGATE_FORGE, else github for github.com, else forgejo")
    rep.add_argument("--url", help="forge URL (default: GITHUB_SERVER_URL)")
    rep.add_argument("--repo", metavar="OWNER/NAME", help="default: GITHUB_REPOSITORY")
    rep.add_argument("--since", type=parse_since, required=True, metavar="DATE",
                     help="pull requests updated at or after DATE (2026-11-01 or RFC 3339)")
    rep.add_argument("--config", metavar="PATH", help="for [gate] bot_login")
    rep.add_argument("--bot-login", help="the gate's login, whose decision comments are read "
                                         "(default: [gate] bot_login, else the token's own)")
    rep.add_argument("--format", choices=["markdown", "json"], default="markdown")
    rep.add_argument("--out", metavar="FILE", help="also write the report here")
    rep.set_defaults(func=cmd_report)
