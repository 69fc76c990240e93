"""``reviewgate config check``: the effective configuration, where each value came from, the
gate's identity and every problem, as a table on a terminal and as lines elsewhere."""

from __future__ import annotations

import os

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..core.config import Config, Profile
from ..ensemble.budget import describe as describe_budget
from ..providers.checks import profile_problems

__all__ = ["gate_identity", "print_config"]


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
    console.print(f"policy: quorum {p.quorum} per hat, blockers={p.blockers}, "
                  f"defer_on_corroborated={p.defer_on_corroborated}, split above "
                  f"{p.split_max_changed_lines} lines or {p.split_max_files} files or at "
                  f"{p.split_votes} split votes, consolidation {p.consolidate}")
    for line in describe_budget(config.budget, profile):
        console.print(escape(line), soft_wrap=True)
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
