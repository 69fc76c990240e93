"""One review run end to end: change set -> context pack -> ballots -> decision -> record.

:func:`review_change` is what ``reviewgate review`` and ``reviewgate canary`` call; it knows
nothing about argument parsing, printing or forges. :func:`replay_record` reproduces a recorded
run from its ``decision.json`` without calling any model.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Callable

from .. import __version__
from ..core.changeset import ChangeSet, FileChange, parse_unified_diff
from ..core.config import Config, Profile, SeatConfig
from ..core.coverage import Ledger, build_ledger
from ..context.packing import CarriedShown, ContextPack, build_context, estimate_tokens
from ..core.decision import decide, raised_findings
from ..core.errors import InputError
from .grouping import SeatGrouping, consolidate_with_seat
from ..context.prompts import Prompter
from ..context.redaction import scrub
from ..providers import Provider
from ..providers.replay import ReplayProvider
from .record import ConfigRecord, InputRecord, PackRecord, Record, Usage
from ..context.repository import (FileReader, RepoContext, apply_ignore, gather,
                                  out_of_ignored, path_instructions)
from .budget import BudgetExceeded
from .budget import check as check_budget
from .echo import strip_echo
from .estimate import Estimate, estimate_rows, open_cache
from .fanout import Progress, run_review
from .incremental import History, PreviousRound, RoundPlan, plan_round
from ..core.carry import CarriedFinding
from ..core.verdict import MAX_CARRIED

__all__ = ["Estimate", "build_packs", "estimate_review", "ledger_of", "prepare", "redact_change",
           "replay_record", "review_change", "seat_budget", "shown_carried"]

#: Share of the computed diff budget actually used, against tokenizer estimate error.
BUDGET_SAFETY = 0.85


def _overhead(profile: Profile, bare: ContextPack, prompter: Prompter) -> int:
    """Estimated tokens of the prompt without diff and context (the largest over the hats)."""
    return max(sum(estimate_tokens(m["content"]) for m in prompter.review_messages(bare, hat))
               for hat in profile.hats)


def seat_budget(seat: SeatConfig, overhead: int) -> int:
    """Tokens the diff and context may take for ``seat``: its context window minus its output
    allowance and the rest of the prompt (``overhead``), times :data:`BUDGET_SAFETY`; at least
    256."""
    room = (seat.context_window or 0) - (seat.max_output_tokens or 0)
    return max(256, int((room - overhead) * BUDGET_SAFETY))


def shown_carried(carried: list[CarriedFinding]) -> list[CarriedShown]:
    """The carried findings as reviewers see them: the first
    :data:`~reviewgate.core.verdict.MAX_CARRIED`, each text on one line, secrets redacted."""
    def line(text: str, limit: int) -> str:
        return " ".join(scrub(text)[0].split())[:limit]

    return [CarriedShown(id=f.id, severity=f.severity, title=line(f.title, 200),
                         location=line(f.location, 300), detail=line(f.detail, 300))
            for f in carried[:MAX_CARRIED]]


def build_packs(profile: Profile, change: ChangeSet, prompter: Prompter, *, config: Config,
                repo: RepoContext | None = None, norms: str = "",
                ignored: list[str] | None = None, plan: RoundPlan | None = None,
                whole: ChangeSet | None = None) -> dict[str, ContextPack]:
    """One context pack per seat, each cut to that seat's own window (:func:`seat_budget`,
    the context part capped at ``config.context.max_tokens``). Seats with the same budget
    share one pack object; the hats of a seat share its pack, so their prompts have a
    byte-identical prefix. In an incremental round (``plan``) ``change`` is the incremental
    diff, ``whole`` the whole pull request (its files are listed), the carried findings are
    shown and the context is the code around the new hunks (never whole files)."""
    repo = repo or RepoContext()
    extras = {"norms": norms or repo.norms, "instructions": path_instructions(change, config),
              "ignored": ignored or [], "exclude": profile.policy.size_exclude,
              "around": config.context.around, "whole_files": config.context.whole_files}
    if plan is not None and plan.incremental:
        # context around the new hunks only: a whole file for a one-line push would cost more
        # than the whole round (psf/requests#6716 pushed as HISTORY.md: 183% with whole files)
        extras.update(whole_files=False, listing=(whole or change).files,
                      increment=f"{(plan.from_sha or '')[:12]}..{(plan.to_sha or '')[:12]}",
                      carried=shown_carried(plan.carried))
    bare = build_context(change, budget_tokens=0, **extras)
    overhead = _overhead(profile, bare, prompter)
    by_budget: dict[int, ContextPack] = {}
    packs = {}
    for seat in profile.seats:
        budget = seat_budget(seat, overhead)
        if budget not in by_budget:
            by_budget[budget] = build_context(
                change, budget_tokens=budget, sources=repo.sources, unread=list(repo.unread),
                context_max_tokens=config.context.max_tokens, **extras)
        packs[seat.name] = by_budget[budget]
    return packs


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def ledger_of(change: ChangeSet, packs: dict[str, ContextPack], *,
              ignored: list[FileChange] | None = None,
              whole: ChangeSet | None = None) -> Ledger:
    """The coverage ledger of a round (:func:`reviewgate.core.coverage.build_ledger`): the
    reviewed files, what each seat's pack held of them, the ignored files, and in an
    incremental round the whole pull request's changed lines (``whole``)."""
    total = None
    if whole is not None:
        total = build_ledger(whole.files, {}).total
    return build_ledger(change.files, {seat: p.shown for seat, p in packs.items()},
                        ignored=ignored, total=total)


def _record(change: ChangeSet, config: Config, profile_name: str, profile: Profile,
            packs: dict[str, ContextPack], ballots, wall_s: float,
            replayed_from: str | None = None,
            input_record: InputRecord | None = None,
            grouping: SeatGrouping | None = None, plan: RoundPlan | None = None,
            whole: ChangeSet | None = None, ledger: Ledger | None = None) -> Record:
    plan = plan or (input_record.round if input_record is not None else RoundPlan())
    changed_lines, changed_files = (whole or change).size(profile.policy.size_exclude)
    if input_record is not None:
        changed_lines, changed_files = input_record.changed_lines, input_record.changed_files
        ledger = input_record.coverage_ledger(profile.policy.size_exclude)
    ledger = ledger or ledger_of(change, packs)
    grouping = grouping or SeatGrouping(groups=None, by="deterministic")
    warnings = strip_echo(ballots)
    pack = min(packs.values(), key=lambda p: p.budget_tokens)
    # the files no seat saw at all (what the comment lists as left out)
    left_out = [set(other.omitted) for other in packs.values()]
    unseen = [p for p in pack.omitted if all(p in other for other in left_out)]
    decision = decide(ballots, profile.policy, hats=profile.hats, changed_lines=changed_lines,
                      changed_files=changed_files, groups=grouping.groups,
                      consolidated_by=grouping.by, ledger=ledger,
                      carried=plan.carried if plan.incremental else None)
    paid = [b for b in ballots if not b.cached]
    usage = Usage(tokens_in=sum(b.tokens_in for b in paid) + grouping.tokens_in,
                  tokens_out=sum(b.tokens_out for b in paid) + grouping.tokens_out,
                  cost_usd=round(sum(b.cost_usd for b in paid) + grouping.cost_usd, 6),
                  wall_s=round(wall_s, 3), cached_ballots=len(ballots) - len(paid))
    return Record(
        tool=f"reviewgate {__version__}", created_at=_now(), replayed_from=replayed_from,
        input=input_record or InputRecord.of(
            change, changed_lines=changed_lines, changed_files=changed_files,
            omitted=unseen, cut=pack.cut, budget_tokens=pack.budget_tokens,
            diff_tokens=pack.diff_tokens, packs={
                name: PackRecord.of(p) for name, p in packs.items()}, plan=plan, ledger=ledger),
        config=ConfigRecord(profile_name=profile_name, digest=config.digest(profile_name),
                            source=config.source, profile=profile),
        ballots=ballots, decision=decision, usage=usage, warnings=warnings)


def review_change(change: ChangeSet, *, config: Config, profile_name: str | None = None,
                  prompter: Prompter | None = None,
                  providers: dict[str, Provider] | None = None,
                  on_progress: Callable[[Progress], None] | None = None,
                  norms: str = "", cache_read: bool = True,
                  reader: FileReader | None = None, previous: PreviousRound | None = None,
                  history: History | None = None, whole: bool = False,
                  no_previous: str = "no previous round", spent_usd: float = 0.0) -> Record:
    """Review ``change`` with a profile of ``config`` and return the full record.

    Args:
        change: the parsed change set.
        config: the loaded configuration.
        profile_name: the profile to run (None: the configuration's default).
        prompter: renders prompts (default: shipped templates, overridden by the config's dirs).
        providers: seat name -> provider instead of building them (tests).
        on_progress: receives ballot progress events.
        norms: repository review norms to show reviewers (default: the norms files read at the
            base SHA through ``reader``).
        reader: reads repository files at a commit (forge API or git) for the norms (base SHA)
            and the context around the hunks (head SHA); None: the diff alone.
        cache_read: take ballots from the verdict cache (``config.cache``); False (``--force``,
            ``--no-cache``) asks every model again and refreshes the cache.
        previous: the previous round on this pull request: with ``history`` the round may
            review only the incremental diff since its head
            (:func:`reviewgate.ensemble.incremental.plan_round`); the decision still covers
            the whole pull request.
        whole: always review the whole pull request (``--force``).
        no_previous: the reason recorded for a whole round when ``previous`` is None.
        spent_usd: what the earlier rounds of this pull request spent (USD), for the pull
            request budget (``[budget]``: :mod:`reviewgate.ensemble.budget`). Over a budget the
            round runs with ``budget.fallback_profile`` (the record's ``budget`` says why), or
            no model is called.

    Raises:
        InputError: the diff is empty, or every file is ignored (no model is called).
        ConfigError: unknown profile, missing persona or template.
        UserError: a setup mistake no ballot survives (e.g. the local extra is missing).
        BudgetExceeded: the round's estimate is over a budget and there is no fallback (or the
            fallback is over it too): no model was called.
    """
    change_in = change
    name, profile = config.profile(profile_name)
    prompter = prompter or Prompter(templates_dir=config.templates_dir,
                                    personas_dir=config.personas_dir)
    for hat in profile.hats:
        prompter.persona(hat)  # fail early on a missing persona
    reviewed, plan, whole_change = plan_review(change, config, name, previous, history,
                                               whole=whole, no_previous=no_previous)
    change, ignored, repo, redacted = prepare(reviewed, config, profile, reader)
    packs = build_packs(profile, change, prompter, config=config, repo=repo, norms=norms,
                        ignored=ignored, plan=plan, whole=whole_change)
    ignored_set = set(ignored)
    ledger = ledger_of(change, packs, whole=whole_change,
                       ignored=[f for f in reviewed.files if f.path in ignored_set])
    started = time.monotonic()

    cache = open_cache(config)
    rows = estimate_rows(profile, packs, prompter, cache, read=cache_read)
    state, over = check_budget(config.budget, name, profile,
                               sum(r.max_cost_usd for r in rows), spent_usd)
    if over:
        if cache is not None:
            cache.close()
        fallback = config.budget.fallback_profile
        if fallback is None or fallback == name:
            raise BudgetExceeded(over)
        record = review_change(change_in, config=config, profile_name=fallback, prompter=None,
                               providers=providers, on_progress=on_progress, norms=norms,
                               cache_read=cache_read, reader=reader, previous=previous,
                               history=history, whole=whole, no_previous=no_previous,
                               spent_usd=spent_usd)
        if record.budget is not None:
            record.budget.fallback_reason = f"{over.removeprefix('not reviewed: ')}: reviewed " \
                                            f"with the fallback profile {fallback!r}"
        return record

    async def run() -> tuple[list, SeatGrouping]:
        ballots = await run_review(profile, packs, prompter, providers=providers,
                                   on_progress=on_progress, cache=cache, cache_read=cache_read)
        seat = profile.policy.consolidate.removeprefix("seat:")
        grouping = await consolidate_with_seat(raised_findings(ballots), profile, prompter,
                                               provider=(providers or {}).get(seat))
        return ballots, grouping

    try:
        ballots, grouping = asyncio.run(run())
    finally:
        if cache is not None:
            cache.close()
    record = _record(change, config, name, profile, packs, ballots,
                     time.monotonic() - started, grouping=grouping, plan=plan,
                     whole=whole_change, ledger=ledger)
    if cache is not None:
        record.warnings.extend(cache.warnings)
    record.input.redacted = redacted
    record.input.ignored = ignored
    record.input.norms_files = repo.norms_files
    record.input.unread = repo.unread
    record.budget = state
    return record


def plan_review(change: ChangeSet, config: Config, profile_name: str,
                previous: PreviousRound | None, history: History | None, *, whole: bool = False,
                no_previous: str = "no previous round",
                ) -> tuple[ChangeSet, RoundPlan, ChangeSet | None]:
    """The round's plan (:func:`reviewgate.ensemble.incremental.plan_round`): the change set
    the reviewers see, the plan, and in an incremental round the whole pull request with the
    ``ignore`` globs applied and secrets redacted (its files are listed to the reviewers; None
    in a whole round)."""
    plan, reviewed = plan_round(change, previous, history,
                                config_digest=config.digest(profile_name), force=whole,
                                no_previous=no_previous)
    if plan.incremental and not apply_ignore(reviewed, config.ignore)[0].files:
        plan = plan.model_copy(update={
            "mode": "whole", "reason": "the push changes only files the configuration ignores",
            "carried": [], "from_sha": change.base_sha, "files": len(change.files)})
        reviewed = change
    whole_change = None
    if plan.incremental:
        whole_change, _ = apply_ignore(change, config.ignore)
        if config.redact_secrets:
            whole_change, _ = redact_change(whole_change)
    return reviewed, plan, whole_change


def prepare(change: ChangeSet, config: Config, profile: Profile,
            reader: FileReader | None) -> tuple[ChangeSet, list[str], RepoContext, int]:
    """The change as reviewers get it: ``ignore`` globs applied, norms and file texts read
    (:func:`reviewgate.context.repository.gather`), secrets redacted everywhere (when
    ``redact_secrets``). Returns the change, the ignored paths, what was read and how many
    secrets were redacted.

    Raises:
        InputError: the diff is empty, or every changed file is ignored.
    """
    if not change.files and not change.diff.strip():
        raise InputError("nothing to review: the diff is empty (no model was called)")
    change = out_of_ignored(change, config.ignore, reader)
    change, ignored = apply_ignore(change, config.ignore)
    if ignored and not change.files:
        raise InputError(f"nothing to review: all {len(ignored)} changed files match the "
                         "configuration's ignore globs (no model was called)")
    repo = gather(change, config, reader, exclude=profile.policy.size_exclude)
    redacted = 0
    if config.redact_secrets:
        change, redacted = redact_change(change)
        clean = {}
        for path, text in repo.sources.items():
            clean[path], n = scrub(text)
            redacted += n
        repo.sources = clean
        repo.norms, n = scrub(repo.norms)
        redacted += n
    return change, ignored, repo, redacted


def estimate_review(change: ChangeSet, *, config: Config, profile_name: str | None = None,
                    reader: FileReader | None = None, previous: PreviousRound | None = None,
                    history: History | None = None,
                    on_warning: Callable[[str], None] | None = None) -> list[Estimate]:
    """The tokens and cost a review of ``change`` would take, calling no model.

    Prompt tokens are estimated at :data:`~reviewgate.context.packing.CHARS_PER_TOKEN`
    characters per
    token; output is the seat's ``max_output_tokens`` (an upper bound); a ballot the verdict
    cache holds costs nothing.

    Raises:
        InputError: the diff is empty; ConfigError: unknown profile, persona or template.

    With ``previous`` and ``history`` the round is planned as :func:`review_change` plans it
    (an incremental round estimates the incremental prompt). ``on_warning`` receives each
    problem with the verdict cache (then the ballots it could not tell count as not cached).
    """
    name, profile = config.profile(profile_name)
    prompter = Prompter(templates_dir=config.templates_dir, personas_dir=config.personas_dir)
    change, plan, whole_change = plan_review(change, config, name, previous, history)
    change, ignored, repo, _ = prepare(change, config, profile, reader)
    packs = build_packs(profile, change, prompter, config=config, repo=repo, ignored=ignored,
                        plan=plan, whole=whole_change)
    cache = open_cache(config)
    try:
        rows = estimate_rows(profile, packs, prompter, cache)
    finally:
        if cache is not None:
            cache.close()
    for warning in cache.warnings if cache is not None else []:
        if on_warning is not None:
            on_warning(warning)
    return rows


def redact_change(change: ChangeSet) -> tuple[ChangeSet, int]:
    """A copy of ``change`` with secrets redacted in its title, description, diff and files:
    secret-looking strings (:func:`reviewgate.context.redaction.redact_secrets`) and the values
    of the environment's secret variables (:func:`reviewgate.core.errors.redact`); and how many
    there were."""
    title, n_title = scrub(change.title)
    body, n_body = scrub(change.body)
    diff, n_diff = scrub(change.diff)
    files = change.files
    if n_diff:  # the files' texts are sections of the diff: clean them only when it had secrets
        files = []
        for f in change.files:
            text = scrub(f.text)[0]
            # the hunks are read again from the cleaned section (the redaction keeps every
            # line), so a line is redacted as it was in its file's text, never differently
            again = parse_unified_diff(text) if f.text else []
            if len(again) == 1 and len(again[0].hunks) == len(f.hunks):
                hunks = again[0].hunks
            else:
                hunks = [h.model_copy(update={"lines": scrub("\n".join(h.lines))[0].split(
                    "\n")}) for h in f.hunks]
            files.append(f.model_copy(update={"text": text, "path": scrub(f.path)[0],
                                              "hunks": hunks}))
    return (change.model_copy(update={"title": title, "body": body, "diff": diff,
                                      "files": files}), n_title + n_body + n_diff)


class _ReplayPrompter(Prompter):
    """Replayed answers do not depend on the prompt: hats need no persona file."""

    def persona(self, hat: str) -> str:
        return ""


def replay_record(record: Record, *, source: str,
                  on_progress: Callable[[Progress], None] | None = None) -> Record:
    """Re-run the decision of ``record`` from its stored raw answers (no model is called).

    The recorded profile, input size and answers go through the same extraction and decision
    code as a live run, so the decision is the same.
    """
    profile = record.config.profile
    providers: dict[str, Provider] = {
        seat.name: ReplayProvider(seat, [b for b in record.ballots if b.seat == seat.name])
        for seat in profile.seats}
    change = ChangeSet(title=record.input.title, source=record.input.source,
                       head_sha=record.input.head_sha, base_sha=record.input.base_sha)
    prompter = _ReplayPrompter()
    plan = record.input.round
    pack = build_context(change, budget_tokens=record.input.budget_tokens, exclude=[],
                         carried=shown_carried(plan.carried) if plan.incremental else None)
    started = time.monotonic()
    ballots = asyncio.run(run_review(profile, {s.name: pack for s in profile.seats}, prompter,
                                     providers=providers,
                                           on_progress=on_progress))
    config = Config(profiles={record.config.profile_name: profile}, source=record.config.source)
    recorded = record.decision
    grouping = (SeatGrouping(groups=recorded.groups, by=recorded.consolidated_by)
                if recorded.consolidated_by.startswith("seat:") else None)
    out = _record(change, config, record.config.profile_name, profile,
                  {s.name: pack for s in profile.seats}, ballots,
                  time.monotonic() - started, replayed_from=source, input_record=record.input,
                  grouping=grouping)
    return out
