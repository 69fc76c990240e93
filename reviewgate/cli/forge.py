"""The forge subcommands of the CLI edge: ``canary``, ``gate-status`` and ``command``.

Every option can come from the Actions environment: ``GITHUB_SERVER_URL``,
``GITHUB_REPOSITORY``, the event payload at ``GITHUB_EVENT_PATH`` (pull request number, or the
``pr`` input of ``workflow_dispatch``), ``REVIEWGATE_FORGE`` (forgejo, gitea, github). The token
comes from ``REVIEWGATE_FORGE_TOKEN`` (then the runner's automatic token) and is never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from ..core.errors import InputError, UserError

__all__ = ["add_forge_commands"]


def _event(path: str | None) -> dict[str, Any]:
    path = path or os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read event payload {path}: {exc}") from None


def _pr_from_event(event: dict[str, Any]) -> int | None:
    for value in ((event.get("pull_request") or {}).get("number"),
                  (event.get("issue") or {}).get("number"),
                  (event.get("inputs") or {}).get("pr")):
        if value not in (None, ""):
            try:
                return int(value)
            except (TypeError, ValueError):
                raise UserError(f"pull request number must be an integer, got {value!r}") from None
    return None


def _forge(args: argparse.Namespace, config_bot: str | None):
    from ..forge import forge_token, make_forge

    from .common import forge_target

    kind, url, repo = forge_target(args)
    token = forge_token()
    if token is None:
        raise UserError("no forge token: set REVIEWGATE_FORGE_TOKEN (a bot token with write "
                        "access to commit statuses and comments)")
    bot = args.bot_login or os.environ.get("REVIEWGATE_BOT_LOGIN") or config_bot
    return make_forge(kind, url=url, repo=repo, token=token, bot_login=bot), f"{kind} {repo}"


def _number(args: argparse.Namespace, event: dict[str, Any]) -> int:
    number = args.pr if args.pr is not None else _pr_from_event(event)
    if number is None:
        raise UserError("--pr is required (no pull request in the event payload)")
    return number


def _is_merge_group(event: dict[str, Any]) -> bool:
    return os.environ.get("GITHUB_EVENT_NAME") == "merge_group" or "merge_group" in event


def _is_retarget(event: dict[str, Any]) -> bool:
    """A pull request event for a new base: GitHub ``edited`` with ``changes.base``; Forgejo
    and Gitea ``edited`` with ``changes.ref`` (their ``PullRequestChangeTargetBranch``)."""
    changes = event.get("changes")
    return event.get("action") == "edited" and isinstance(changes, dict) and bool(
        {"base", "ref"} & set(changes))


def cmd_merge_group(args: argparse.Namespace, event: dict[str, Any]) -> int:
    """``reviewgate canary`` on a ``merge_group`` event: the group's commit gets the pass of
    its pull request's head (:func:`reviewgate.gate.judge_merge_group`); no model, no comment.
    Exit 0 on ``success``, 10 on ``failure``."""
    from ..core.config import load_config
    from ..gate import judge_merge_group

    config = load_config(args.config)
    forge, _ = _forge(args, config.gate.bot_login)
    owner = args.bot_login or os.environ.get("REVIEWGATE_BOT_LOGIN") or config.gate.bot_login
    try:
        result = judge_merge_group(forge, event, context=config.gate.context, owner=owner)
    finally:
        forge.close()
    print(f"GATE={'merge' if result.state == 'success' else 'defer'}\nSTATE={result.state}\n"
          f"SHA={result.group.head_sha}\nPR={result.group.number}\n"
          f"REASON={result.description}")
    outputs = os.environ.get("GITHUB_OUTPUT")
    if outputs:
        with open(outputs, "a", encoding="utf-8") as fh:
            fh.write(f"state={result.state}\n")
    return 0 if result.state == "success" else 10


def cmd_canary(args: argparse.Namespace) -> int:
    """``reviewgate canary``: review a pull request and publish comments and status (on a
    ``merge_group`` event: :func:`cmd_merge_group`)."""
    from ..core.config import load_config
    from ..gate import run_canary
    from .common import EXIT_FOR, actions_outputs
    from .progress import progress_printer

    event = _event(args.event)
    if args.pr is None and _is_merge_group(event):
        return cmd_merge_group(args, event)
    config = load_config(args.config)
    number = _number(args, event)
    forge, label = _forge(args, config.gate.bot_login)
    _cancel_on_sigterm()
    try:
        _, profile = config.profile(args.profile)
        from ..providers import warm_up

        warm_up(profile.seats)  # the embedded model loads while the pull request is fetched
        with progress_printer(profile) as on_progress:
            result = run_canary(forge, number=number, config=config, profile_name=args.profile,
                                fired_by=args.fired_by or os.environ.get("GITHUB_ACTOR", "ci"),
                                force=args.force, label=f"{label}#{number}",
                                on_progress=on_progress, retarget=_is_retarget(event))
    finally:
        forge.close()
    if result.state == "superseded":
        print(f"SUPERSEDED={result.description}")
        return 0
    if result.skipped:
        print(f"head {result.head_sha[:12]} already has a decision ({result.decision}); "
              "use --force to review again")
    else:
        print(f"GATE={result.decision}\nSTATE={result.state}\nSHA={result.head_sha}\n"
              f"URL={result.target_url}")
        if result.stale:
            print("STALE=the head moved during the review; the new head was not reviewed")
        if result.record is not None:
            actions_outputs(result.record)
            outputs = os.environ.get("GITHUB_OUTPUT")
            if outputs:
                with open(outputs, "a", encoding="utf-8") as fh:
                    fh.write(f"url={result.target_url}\n")
            if args.out:
                Path(args.out).write_text(result.record.dump(), encoding="utf-8")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_FOR.get(result.decision, EXIT_FOR["error"])


def _cancel_on_sigterm() -> None:
    """Make SIGTERM (a cancelled CI job) end the run, so the canary posts ``error`` with the
    reason ("cancelled (SIGTERM)") before exiting instead of leaving ``pending``.

    Outside an event loop the signal raises ``KeyboardInterrupt("SIGTERM")``, as SIGINT does.
    While the seats are asked (inside ``asyncio.run``) it cancels every task with the signal's
    name instead: an exception raised by a signal handler lands in whatever frame runs, and there
    one seat's error handler took it for that seat's failure (seen: a cancel scope's
    ``RuntimeError``, one ABSTAIN, and the review went on to ``success``). ``CancelledError`` is
    caught by no seat's handler; ``asyncio.run`` raises it with the name.

    The cancelling is handed to the loop with ``call_soon_threadsafe``, which wakes its
    selector: a handler runs while the loop waits in ``select()``, which is then resumed with
    the timeout it had (PEP 475), so cancellations made in the handler itself waited for the
    next socket event: the run went on until the models answered (20 s in the test; up to a
    seat's timeout in a CI job, past the runner's grace before SIGKILL).
    """
    def cancel_all(loop: asyncio.AbstractEventLoop, name: str) -> None:
        for task in asyncio.all_tasks(loop):
            task.cancel(name)

    def handler(signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise KeyboardInterrupt(name) from None
        loop.call_soon_threadsafe(cancel_all, loop, name)

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (embedded use): leave signals alone
        pass


def cmd_gate_status(args: argparse.Namespace) -> int:
    """``reviewgate gate-status``: read the gate for the current head; exit 0 only on merge."""
    from ..core.config import load_config
    from ..gate import read_gate
    from .common import EXIT_NOT_DECIDED, EXIT_NOT_PASSED

    config = load_config(args.config)
    context = args.context or config.gate.context
    number = _number(args, _event(args.event))
    forge, _ = _forge(args, config.gate.bot_login)
    deadline = time.monotonic() + (args.wait or 0)
    owner = args.bot_login or os.environ.get("REVIEWGATE_BOT_LOGIN") or config.gate.bot_login
    try:
        while True:
            reading = read_gate(forge, number, context, owner=owner,
                                max_pending_s=config.gate.pending_timeout_s)
            if reading.gate not in ("pending", "missing") or time.monotonic() >= deadline:
                break
            time.sleep(min(args.interval, max(0.0, deadline - time.monotonic())))
    finally:
        forge.close()
    print(f"GATE={reading.gate}\nSHA={reading.sha}\nURL={reading.url}")
    if reading.override:
        print(f"OVERRIDE={reading.description}")
    if reading.gate == "stale":
        print(f"REASON={reading.description}")
    if reading.passed:
        return 0
    return EXIT_NOT_DECIDED if reading.gate in ("pending", "missing", "stale") else EXIT_NOT_PASSED


def cmd_override(args: argparse.Namespace) -> int:
    """``reviewgate override``: an audited override of the gate, as the token's own user
    (``GET /user``, asked of the forge whatever ``bot_login`` says; ``GITHUB_ACTOR`` is never
    trusted), who must have write access; bound to ``--sha`` (the full head SHA the operator
    reviewed), which is required: without it the command prints the current head's full SHA
    to check and name."""
    from ..core.config import load_config
    from ..gate import WRITE_PERMISSIONS, override_gate
    from ..gate.override import token_user

    if not args.reason or not args.reason.strip():
        raise UserError("--reason is required: say why the gate is overridden")
    config = load_config(args.config)
    number = _number(args, _event(args.event))
    forge, _ = _forge(args, config.gate.bot_login)
    try:
        by = token_user(forge)
        permission = forge.permission(by)
        if permission not in WRITE_PERMISSIONS:
            raise UserError(f"the token's user {by} has {permission} access: an override "
                            "needs write access")
        if not args.sha:
            head = forge.get_pull(number).head_sha
            raise UserError(f"--sha is required: name the head you reviewed by its full SHA; "
                            f"the head is now {head} (check it, then --sha {head})")
        sha = args.sha
        result = override_gate(forge, number=number, config=config, by=by,
                               reason=args.reason, sha=sha, poster=by)
    finally:
        forge.close()
    print(f"GATE=merge\nSTATE=success\nSHA={result.head_sha}\nURL={result.target_url}\n"
          f"OVERRIDE={result.description}")
    return 0


def cmd_command(args: argparse.Namespace) -> int:
    """``reviewgate command``: handle an ``issue_comment`` event (``/canary``)."""
    from ..core.config import load_config
    from .common import EXIT_FOR
    from ..gate import handle_comment

    config = load_config(args.config)
    event = _event(args.event)
    if not event:
        raise UserError("--event (or GITHUB_EVENT_PATH) must name an issue_comment payload")
    forge, _ = _forge(args, config.gate.bot_login)
    _cancel_on_sigterm()
    try:
        outcome = handle_comment(forge, event, config=config, profile_name=args.profile)
    finally:
        forge.close()
    if outcome.action not in ("fired", "overridden") or outcome.result is None:
        print(f"{outcome.action}: {outcome.reason}")
        return 0
    result = outcome.result
    if result.state == "superseded":
        print(f"SUPERSEDED={result.description}")
        return 0
    print(f"GATE={result.decision}\nSTATE={result.state}\nSHA={result.head_sha}\n"
          f"URL={result.target_url}")
    return EXIT_FOR.get(result.decision, EXIT_FOR["error"])


def _pr_number(text: str) -> int | None:
    """A pull request number; an empty value (the action's ``pr: ""``) is none (argparse
    type)."""
    if not text.strip():
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a pull request number is a positive integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError("a pull request number is a positive integer")
    return value


def _full_sha(text: str) -> str:
    """A full commit SHA: 40 hex digits (64 in a SHA-256 repository) (argparse type). A short
    prefix is refused: a commit crafted to share it could be pushed after the override."""
    value = text.strip().lower()
    if len(value) not in (40, 64) or any(c not in "0123456789abcdef" for c in value):
        raise argparse.ArgumentTypeError("the full head SHA (40 hex digits): a short one can "
                                         "be matched by a crafted commit")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--forge", choices=["forgejo", "gitea", "github"],
                   help="default: REVIEWGATE_FORGE, else github for github.com, else forgejo")
    p.add_argument("--url", help="forge URL (default: GITHUB_SERVER_URL)")
    p.add_argument("--repo", metavar="OWNER/NAME", help="default: GITHUB_REPOSITORY")
    p.add_argument("--pr", type=_pr_number,
                   help="pull request number (default: from the event; empty: none)")
    p.add_argument("--event", metavar="FILE", help="event payload (default: GITHUB_EVENT_PATH)")
    p.add_argument("--config", metavar="PATH")
    p.add_argument("--bot-login", help="the bot's login (default: GET /user)")


def add_forge_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``canary``, ``gate-status``, ``command`` and ``override`` on the CLI's
    subparsers."""
    from .common import add_command

    canary = add_command(
        sub, "canary", "review a pull request and set the quality gate",
        "reviewgate canary --forge forgejo --url https://forge.example --repo o/r --pr 42",
        "reviewgate canary --pr 42 --force   # Actions: URL and repo from the env")
    _common(canary)
    canary.add_argument("--profile")
    canary.add_argument("--force", action="store_true", help="review even if already decided")
    canary.add_argument("--fired-by", help="recorded in the round history (default: "
                                           "GITHUB_ACTOR or ci)")
    canary.add_argument("--out", metavar="FILE", help="write decision.json here")
    canary.set_defaults(func=cmd_canary)

    status = add_command(
        sub, "gate-status", "the gate for the current head (for merge bots)",
        "reviewgate gate-status --pr 42 && merge-it",
        "reviewgate gate-status --pr 42 --wait 600 --interval 15")
    _common(status)
    status.add_argument("--context", help="status context (default: reviewgate/quality-gate)")
    status.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                        help="poll until a final state or SECONDS pass")
    status.add_argument("--interval", type=float, default=10.0, metavar="SECONDS")
    status.set_defaults(func=cmd_gate_status)

    command = add_command(
        sub, "command", "handle /canary from an issue_comment event",
        "reviewgate command --event \"$GITHUB_EVENT_PATH\" --config reviewgate.toml")
    _common(command)
    command.add_argument("--profile")
    command.set_defaults(func=cmd_command)

    override = add_command(
        sub, "override", "audited override: success on the current head, with who and why",
        "reviewgate override --pr 42 --reason 'providers down; reviewed by hand'")
    _common(override)
    override.add_argument("--reason", required=True, help="why (recorded and shown)")
    override.add_argument("--sha", type=_full_sha, metavar="SHA",
                          help="the full head SHA you reviewed (required); refused if the "
                               "head is another")
    override.set_defaults(func=cmd_override)
