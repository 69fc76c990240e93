"""Terminal output for the CLI edge: live ballot progress and the configuration report.

On a terminal, progress is a live seats x hats table (rich); elsewhere (CI logs) one line per
finished ballot goes to standard error. Only :mod:`reviewgate.cli.main` uses this module.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Callable, Iterator

from rich.console import Console
from rich.markup import escape
from rich.live import Live
from rich.table import Table

from ..core.config import Config, Profile
from ..ensemble.fanout import Progress

__all__ = ["eval_progress", "print_config", "progress_printer"]

_BADGE = {"OK": "[green]✅ OK[/]", "NOT_OK": "[red]❌ NOT_OK[/]",
          "ABSTAIN": "[yellow]⚪ ABSTAIN[/]"}


def _cell(event: Progress | None) -> str:
    if event is None:
        return "[dim]queued[/]"
    if event.state == "running" or event.ballot is None:
        return "[cyan]running…[/]"
    b = event.ballot
    conf = f" {b.verdict.confidence:.2f}" if b.verdict else ""
    took = "cache" if b.cached else f"{b.latency_s:.1f} s"
    return f"{_BADGE[b.vote]}{conf} [dim]{took}[/]"


def _table(profile: Profile, state: dict[tuple[str, str], Progress]) -> Table:
    table = Table(title="reviewgate ballots", show_lines=False)
    table.add_column("seat")
    for hat in profile.hats:
        table.add_column(hat)
    for seat in profile.seats:
        table.add_row(f"{seat.name} [dim]{seat.provider}[/]",
                      *(_cell(state.get((seat.name, hat))) for hat in profile.hats))
    return table


@contextlib.contextmanager
def progress_printer(profile: Profile) -> Iterator[Callable[[Progress], None]]:
    """Yield a progress callback for :func:`reviewgate.ensemble.pipeline.review_change`."""
    console = Console(stderr=True)
    state: dict[tuple[str, str], Progress] = {}
    if console.is_terminal and not os.environ.get("CI"):
        with Live(_table(profile, state), console=console, refresh_per_second=4,
                  transient=False) as live:
            def update(event: Progress) -> None:
                state[(event.seat, event.hat)] = event
                live.update(_table(profile, state))
            yield update
        return

    total = len(profile.seats) * len(profile.hats)

    def line(event: Progress) -> None:
        if event.state != "done" or event.ballot is None:
            return
        state[(event.seat, event.hat)] = event
        b = event.ballot
        detail = f"confidence {b.verdict.confidence:.2f}" if b.verdict else (b.error or "")
        took = "from the verdict cache" if b.cached else f"{b.latency_s:.1f} s"
        print(f"[{len(state)}/{total}] {b.hat}-{b.seat}: {b.vote} ({detail}) {took}",
              file=sys.stderr, flush=True)
    yield line


def profile_problems(profile: Profile) -> list[str]:
    """What would stop this profile from reviewing as configured: a missing credential
    variable (Ollama Cloud needs ``OLLAMA_API_KEY``), a missing extra (``local`` needs
    llama-cpp-python and the packaged model), a llama.cpp build this machine cannot run
    (:func:`reviewgate.providers.local.runtime_problem`), a quorum the seats cannot meet."""
    from ..providers.local import missing_modules, runtime_problem

    problems = []
    runtime_checked = False
    for seat in profile.seats:
        env = seat.key_env
        if env is not None and not os.environ.get(env, "").strip():
            problems.append(f"seat {seat.name}: {env} is not set (the seat would abstain)")
        if seat.provider == "local":
            absent = missing_modules(seat)
            if absent:
                problems.append(f"seat {seat.name}: {', '.join(absent)} not installed: "
                                "pip install 'reviewgate-ensemble[local]'")
            elif not runtime_checked:  # once: every local seat shares the runtime
                runtime_checked = True
                problem = runtime_problem()
                if problem:
                    problems.append(f"embedded model: {problem}")
        if seat.provider == "openai-compatible" and not seat.base_url:
            problems.append(f"seat {seat.name}: openai-compatible needs base_url")
    seats = len(profile.seats)
    if profile.policy.quorum > seats:
        problems.append(f"policy: quorum {profile.policy.quorum} needs {profile.policy.quorum} "
                        f"voting ballots per hat, but the profile has {seats} seat"
                        f"{'s' if seats != 1 else ''} (one ballot per seat and hat): every "
                        "review would end in error")
    return problems


def print_config(config: Config, name: str, profile: Profile) -> list[str]:
    """Print the effective configuration and every problem; return the problems."""
    console = Console(soft_wrap=True)
    console.print(f"configuration: {config.source}")
    console.print(f"profile: {name} (hats: {', '.join(profile.hats)})")
    if profile.notice:
        console.print(f"[yellow]note:[/] {profile.notice}")
    table = Table()
    for col in ("seat", "provider", "model", "endpoint", "credential", "timeout s",
                "max out tokens", "context tokens", "USD/Mtok in/out/cached/cache write"):
        table.add_column(col)
    origins = []
    for seat in profile.seats:
        env = seat.key_env
        if env is None:
            cred = "none needed"
        elif os.environ.get(env, "").strip():
            cred = f"[green]{env} present[/]"
        else:
            cred = f"[red]{env} missing[/]"
        prices = "/".join(f"{getattr(seat, f'price_{k}_per_mtok') or 0:g}"
                          for k in ("in", "out", "cached", "cache_write"))
        row = (seat.name, seat.provider, seat.model, seat.endpoint, cred,
               f"{seat.timeout_s:g}", str(seat.max_output_tokens), str(seat.context_window),
               prices)
        table.add_row(*row)
        origins.append(f"values of seat {seat.name}: " + ", ".join(
            f"{label} from {seat.origin(key)}" for label, key in (
                ("context window", "context_window"), ("max output", "max_output_tokens"),
                ("prices", "price_in_per_mtok"))))
        if not console.is_terminal:
            console.print(f"seat {row[0]}: provider {row[1]}, model {row[2]}, endpoint {row[3]}, "
                          f"credential {row[4]}, timeout {row[5]} s, max output {row[6]} tokens, "
                          f"context {row[7]} tokens, USD per million tokens in/out/cached/cache "
                          f"write {row[8]}", soft_wrap=True)
    if console.is_terminal:
        console.print(table)
    for line in origins:
        console.print(escape(line), soft_wrap=True)
    p = profile.policy
    console.print(f"policy: quorum {p.quorum} per hat, blockers={p.blockers}, split above "
                  f"{p.split_max_changed_lines} lines or {p.split_max_files} files or at "
                  f"{p.split_votes} split votes, consolidation {p.consolidate}")
    console.print(escape(gate_identity(config)), soft_wrap=True)
    problems = profile_problems(profile)
    for problem in problems:
        console.print(f"[red]problem:[/] {escape(problem)}")
    if not problems:
        console.print("ready: every credential and extra present, the policy can be met")
    return problems


def gate_identity(config: Config) -> str:
    """Which login's statuses and comments the gate trusts as its own, and how it is found."""
    bot = os.environ.get("REVIEWGATE_BOT_LOGIN") or config.gate.bot_login
    if bot:
        source = "REVIEWGATE_BOT_LOGIN" if os.environ.get("REVIEWGATE_BOT_LOGIN") else \
            "[gate] bot_login"
        return (f"gate identity: {bot} (from {source}); only its statuses in context "
                f"{config.gate.context} count")
    return ("gate identity: the forge token's own login (GET /user); a token that cannot read "
            "GET /user (GitHub App installation token, Actions GITHUB_TOKEN) is identified by "
            "the creator of the gate's own pending status during `canary`, and `command` and "
            "`gate-status` then need [gate] bot_login (for GITHUB_TOKEN that is "
            "github-actions[bot], which every workflow of the repository can post as)")


@contextlib.contextmanager
def eval_progress() -> Iterator[Callable[[str, int, int], None]]:
    """Yield a callback ``(pull request id, done, total)`` for ``reviewgate eval``: a progress
    bar on a terminal, nothing elsewhere (the report follows on standard output)."""
    if not sys.stderr.isatty():
        yield lambda pr, done, total: None
        return
    from rich.progress import Progress as Bar

    with Bar(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("pull requests", total=None)

        def update(pr: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=pr)

        yield update
