"""``reviewgate dataset build``: a review-quality dataset from the repository's merged pull
requests (:mod:`reviewgate.quality.harvest`), for ``reviewgate eval``."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

from ..core.retry import MAX_RETRY_AFTER_S

__all__ = ["add_dataset_commands"]

#: The longest rate-limit wait a build sits out, in seconds (GitHub's primary limit resets
#: hourly); the gate itself keeps :data:`reviewgate.core.retry.MAX_RETRY_AFTER_S`.
BUILD_MAX_WAIT_S = 3700.0


def _since(text: str) -> dt.datetime:
    """A date (``2026-01-31``, midnight UTC) or an RFC 3339 time (argparse type)."""
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError("a date (YYYY-MM-DD) or a time "
                                         "(YYYY-MM-DDTHH:MM:SSZ)") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _last(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a number of pull requests") from None
    if value < 1:
        raise argparse.ArgumentTypeError("a number of pull requests, at least 1")
    return value


def cmd_dataset_build(args: argparse.Namespace) -> int:
    """``reviewgate dataset build``: read the merged pull requests, write ``DIR/dataset.json``
    and the diffs, print what was kept and left out."""
    from ..core.config import load_config
    from ..forge import forge_token, make_forge
    from ..quality.harvest import BuildEvent, build_dataset
    from .progress import build_progress

    from .common import forge_target

    kind, url, repo = forge_target(args)
    token = forge_token()
    if token is None:
        print("warning: no forge token (REVIEWGATE_FORGE_TOKEN): public repositories only, "
              "at the forge's anonymous rate limit", file=sys.stderr)
    gate_login = (args.bot_login or os.environ.get("REVIEWGATE_BOT_LOGIN")
                  or load_config(args.config).gate.bot_login)
    forge = make_forge(kind, url=url, repo=repo, token=token, bot_login=gate_login)
    on_progress = build_progress()
    http = getattr(forge, "http", None)
    if http is not None:  # a long read waits out a rate limit, and says so
        http.max_wait_s = max(MAX_RETRY_AFTER_S, BUILD_MAX_WAIT_S)
        http.on_wait = lambda seconds, why: on_progress(BuildEvent("wait", why,
                                                                   seconds=seconds))
    try:
        last = args.last if args.last is not None or args.since else 50
        result = build_dataset(forge, out=args.out, repo=repo, last=last,
                               since=args.since, gate_login=gate_login,
                               on_progress=on_progress)
    finally:
        forge.close()
    s = result.summary
    left = ", ".join(f"{k} {v}" for k, v in s["left_out"].items()) or "nothing"
    skipped = ", ".join(f"{k} {v}" for k, v in s["skipped"].items())
    print(f"wrote {result.path}: {s['entries']} entries ({s['expect_merge']} expected to "
          f"merge) with {s['golden']} golden comments, from {s['merged']} merged pull "
          f"requests ({s['closed_listed']} closed listed, {s['closed_unmerged']} unmerged)")
    print(f"left out: {left}" + (f"; skipped: {skipped}" if skipped else ""))
    print(f"secrets redacted: {s['redacted']}")
    print(f"next: reviewgate eval {args.out} --profile PROFILE")
    return 0


def add_dataset_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``dataset build`` on the CLI's subparsers."""
    from .common import add_command

    dataset = sub.add_parser("dataset", help="build a review-quality dataset from your history")
    dataset_sub = dataset.add_subparsers(dest="dataset_command", required=True)
    build = add_command(
        dataset_sub, "build", "a dataset from merged pull requests and their human review "
        "comments",
        "reviewgate dataset build --forge github --url https://github.com --repo o/r "
        "--last 50 --out history",
        "reviewgate dataset build --forge forgejo --url https://codeberg.org --repo o/r "
        "--since 2026-01-01 --out history")
    build.add_argument("--forge", choices=["forgejo", "gitea", "github"],
                       help="default: REVIEWGATE_FORGE, else github for github.com, else "
                            "forgejo")
    build.add_argument("--url", help="forge URL (default: GITHUB_SERVER_URL)")
    build.add_argument("--repo", metavar="OWNER/NAME", help="default: GITHUB_REPOSITORY")
    build.add_argument("--last", type=_last, metavar="N",
                       help="the N pull requests merged most recently (default 50 without "
                            "--since)")
    build.add_argument("--since", type=_since, metavar="DATE",
                       help="only pull requests merged since DATE (YYYY-MM-DD, UTC)")
    build.add_argument("--out", required=True, metavar="DIR",
                       help="write DIR/dataset.json and DIR/diffs/")
    build.add_argument("--bot-login", help="the gate's login: its comments are never golden "
                                           "(default: REVIEWGATE_BOT_LOGIN, [gate] bot_login)")
    build.add_argument("--config", metavar="PATH", help="reviewgate.toml ([gate] bot_login)")
    build.set_defaults(func=cmd_dataset_build)
