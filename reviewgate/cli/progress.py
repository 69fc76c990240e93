"""Terminal output for the CLI edge: live ballot progress and the configuration report.

On a terminal, progress is a live seats x hats table (rich); elsewhere (CI logs) one line per
finished ballot goes to standard error. Only the CLI uses this module.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import TYPE_CHECKING, Callable, Iterator

from rich.console import Console
from rich.live import Live
from rich.table import Table

from ..core.config import Profile
from ..ensemble.fanout import Progress

if TYPE_CHECKING:
    from ..quality.harvest import BuildEvent

__all__ = ["build_progress", "eval_progress", "progress_printer"]

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


def build_progress() -> Callable[[BuildEvent], None]:
    """A callback for ``reviewgate dataset build``: one line on standard error per pull
    request read, per wait of the retry policy (a rate limit), per warning, and every 50
    closed pull requests listed (the texts come redacted)."""
    def line(event: BuildEvent) -> None:
        if event.kind == "pull":
            text = f"[{event.done}/{event.total}] {event.text}"
        elif event.kind == "wait":
            text = f"waiting {event.seconds:.0f} s: {event.text}"
        elif event.kind == "warning":
            text = f"warning: {event.text}"
        else:
            text = event.text
        print(text, file=sys.stderr, flush=True)
    return line
