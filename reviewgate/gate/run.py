"""The gate on a forge: review a pull request, post the reasoning, set the commit status.

:func:`run_canary` follows one pull request from the forge to the status call:

1. read the pull request (metadata, head SHA), its diff and every page of changed files;
2. set ``pending`` on that head SHA;
3. run the review (:func:`reviewgate.ensemble.pipeline.review_change`);
4. upsert one comment per seat and the decision comment, found by hidden marker AND the bot's
   login, edited in place; the decision comment keeps the last rounds (head SHA, decision,
   tallies, who fired it, when);
5. set the final status on the head SHA read in step 1, targeting the decision comment; if the
   head moved meanwhile, the description says the result is stale (the new head gets nothing
   from this run, so never ``success``);
6. optionally swap the decision labels.

Anything that fails after step 2 posts ``error`` with the reason: the gate never stays pending.
The steps' parts live beside this module: :mod:`.comments` (our comments and the round
history), :mod:`.status` (identity, run claims, ``read_gate`` for merge bots), :mod:`.reviews`
(line comments); comment commands and overrides in :mod:`.commands` and :mod:`.override`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Callable

from ..context.prompts import Prompter
from ..core.changeset import ChangeSet, FileChange, parse_unified_diff, patch_section
from ..core.config import Config, Profile
from ..core.errors import ForgeError
from ..core.timestamps import now_iso
from ..ensemble.fanout import Progress
from ..ensemble.pipeline import review_change
from ..ensemble.record import Record
from ..forge.base import Forge, PullRequest, safe_message
from ..publish.inline import place_findings
from ..publish.render import DECISION_MARKER, Round, render_decision, render_seat
from ..publish.render import seat_marker, status_description
from ..core.changeset import matches
from ..publish.rounds import carried_diff, compare, tracked
from .comments import dedupe, own_comment, read_rounds, restore, rounds_marker, slim_round
from .comments import upsert
from .history import ForgeHistory, previous_from_rounds
from .reviews import post_review
from .status import DECISIONS, claim_holder, known_login, latest_row, learn_login, post_error

__all__ = ["DIFF_REFUSED", "CanaryResult", "run_canary"]

@dataclass
class CanaryResult:
    """What a canary run did: the decision, the status posted and where."""

    decision: str
    state: str
    head_sha: str
    description: str
    target_url: str = ""
    stale: bool = False
    skipped: bool = False
    record: Record | None = None
    warnings: list[str] = field(default_factory=list)


#: Status codes with which a forge refuses the whole diff as too large (GitHub: 406 "the diff
#: exceeded the maximum number of files (300)" or lines (20,000), code ``too_large``; some
#: endpoints answer 422).
DIFF_REFUSED = (406, 413, 422)


def _change(forge: Forge, pr: PullRequest, label: str) -> ChangeSet:
    """The change set of the pull request: the forge's unified diff, completed from the files
    API (every page). A file missing from the diff is rebuilt from its ``patch`` when the
    forge gives one; without one (binary, too large, or a forge that refused the whole diff)
    it is listed with its counts and no hunk, so it counts as not reviewed.

    Raises:
        ForgeError: the diff or the files cannot be read (a refusal as too large excepted).
    """
    try:
        diff = forge.get_diff(pr.number)
    except ForgeError as exc:
        if exc.status_code not in DIFF_REFUSED:
            raise
        diff = ""
    files = parse_unified_diff(diff)
    seen = {f.path for f in files}
    sections = []
    for listed in forge.list_files(pr.number):
        if listed.filename in seen:
            continue
        seen.add(listed.filename)
        status = listed.status or "modified"
        if listed.patch:
            section = patch_section(listed.filename, listed.patch, status=status,
                                    old_path=listed.previous_filename or None)
            rebuilt = parse_unified_diff(section)
            if rebuilt:
                sections.append(section)
                files.extend(rebuilt)
                continue
        files.append(FileChange(path=listed.filename, status=status,
                                added=listed.additions, removed=listed.deletions))
    return ChangeSet(title=pr.title, body=pr.body, diff=diff + "".join(sections), files=files,
                     head_sha=pr.head_sha, base_sha=pr.base_sha, source=label)


def _swap_labels(forge: Forge, number: int, labels: dict[str, str], decision: str) -> None:
    wanted = labels.get(decision)
    ours = set(labels.values())
    for label in forge.issue_labels(number):
        if label[1] in ours and label[1] != wanted:
            forge.remove_label(number, label)
    if wanted:
        forge.add_labels(number, [wanted])


def run_canary(forge: Forge, *, number: int, config: Config, profile_name: str | None = None,
               fired_by: str = "ci", force: bool = False, label: str = "",
               on_progress: Callable[[Progress], None] | None = None) -> CanaryResult:
    """Review pull request ``number`` and publish the result (steps in the module docstring).

    The gate's identity is the token's login (``GET /user``) or the configured ``bot_login``;
    a token that cannot read ``GET /user`` (a GitHub App installation token, an Actions
    ``GITHUB_TOKEN``) is identified by the creator of its own ``pending`` claim, which carries
    a random run id no one else can know in advance.

    Args:
        forge: the repository's forge adapter.
        number: the pull request number.
        config: configuration (profiles, ``gate.context``, ``gate.labels``).
        profile_name: the profile to run; None: the default.
        fired_by: who asked (``ci``, a login, ``operator``); recorded in the round history.
        force: review even when this head SHA already has a decision, asking every model
            again (no ballot is taken from the verdict cache).

    Raises:
        ForgeError: the pull request cannot be read (nothing is posted then), or publishing
            failed (``error`` was posted first when possible).
        ReviewgateError: the review could not run (``error`` was posted first).
    """
    context = config.gate.context
    pr = forge.get_pull(number)
    login = known_login(forge)
    if login is not None and not force:
        done = _already_decided(forge, pr, context, login)
        if done is not None:
            return done
    prompter = Prompter(templates_dir=config.templates_dir, personas_dir=config.personas_dir)
    name, profile = config.profile(profile_name)
    run_id = secrets.token_hex(4)
    forge.set_status(pr.head_sha, state="pending", context=context,
                     description=prompter.render("status_pending.j2", profile=profile,
                                                 name=name, run_id=run_id).strip()[-140:])
    try:
        if login is None:
            login = learn_login(forge, pr.head_sha, context, run_id)
            done = None if force else _already_decided(forge, pr, context, login,
                                                       own_claim=run_id)
            if done is not None:  # our pending row hid the decision: put it back on top
                forge.set_status(pr.head_sha, state=done.state, context=context,
                                 description=done.description, target_url=done.target_url)
                return done
        result = _review_and_publish(forge, pr, config=config, name=name, profile=profile,
                                     prompter=prompter, login=login, run_id=run_id,
                                     fired_by=fired_by, force=force,
                                     label=label or f"{forge.name} #{number}",
                                     on_progress=on_progress)
    except BaseException as exc:  # SIGTERM/SIGINT (KeyboardInterrupt) included: never pending
        post_error(forge, pr.head_sha, context, exc)
        raise
    if config.gate.labels and result.state != "superseded":
        try:
            _swap_labels(forge, number, config.gate.labels, result.decision)
        except ForgeError as exc:
            result.warnings.append(f"labels not updated: {safe_message(exc)}")
    return result


def _already_decided(forge: Forge, pr: PullRequest, context: str, login: str, *,
                     own_claim: str | None = None) -> CanaryResult | None:
    """The earlier decision on this head SHA, when the decision comment's last round decided
    it and the bot's latest status row on it still says so; None otherwise (no decision, or
    the latest row is ``pending`` or ``error``: a run in progress or one that was killed, so the
    head is reviewed again). ``own_claim``: this run's id, whose pending row is not counted."""
    decision_comment = own_comment(forge.list_comments(pr.number), login, DECISION_MARKER)
    rounds = read_rounds(decision_comment.body) if decision_comment else []
    if not (rounds and rounds[-1].head_sha == pr.head_sha
            and rounds[-1].decision in DECISIONS[:3]):
        return None
    rows = [s for s in forge.list_statuses(pr.head_sha)
            if s.context == context and s.creator == login
            and not (own_claim and f"run {own_claim}" in s.description)]
    latest = latest_row(rows)
    if latest is None or latest.state in ("pending", "error"):
        return None
    return CanaryResult(decision=rounds[-1].decision, state=latest.state, head_sha=pr.head_sha,
                        description=latest.description, target_url=latest.target_url or (
                            decision_comment.html_url if decision_comment else ""),
                        skipped=True)


def _review_and_publish(forge: Forge, pr: PullRequest, *, config: Config, name: str,
                        profile: Profile, prompter: Prompter, login: str, run_id: str,
                        fired_by: str, force: bool, label: str,
                        on_progress: Callable[[Progress], None] | None) -> CanaryResult:
    """Steps 3-5 of the module docstring, after the pending claim."""
    context, number = config.gate.context, pr.number
    comments = forge.list_comments(number)
    decision_comment = own_comment(comments, login, DECISION_MARKER)
    rounds = read_rounds(decision_comment.body) if decision_comment else []
    change = _change(forge, pr, label)
    record = review_change(change, config=config, profile_name=name, prompter=prompter,
                           on_progress=on_progress, cache_read=not force,
                           reader=forge.read_file, previous=previous_from_rounds(rounds),
                           history=ForgeHistory(forge), whole=force,
                           no_previous="no earlier reviewed round on this pull request")
    holder = claim_holder(forge, pr.head_sha, context, login)
    if holder != run_id:
        return _superseded(record, pr.head_sha, holder)
    single = config.gate.comments == "single"
    bodies = {} if single else {seat_marker(seat.name): render_seat(record, seat.name, prompter)
                                for seat in profile.seats}
    comments = forge.list_comments(number)  # fresh: what we would overwrite
    before = {m: c for m in [*bodies, DECISION_MARKER]
              if (c := own_comment(comments, login, m)) is not None}
    for marker, seat_body in bodies.items():
        upsert(forge, number, comments, login, marker, seat_body)
    stale = forge.get_pull(number).head_sha != pr.head_sha
    decision, state = record.decision.decision, record.decision.state
    if profile.demo:  # fail closed: a demo model never passes the gate
        decision, state = "error", "error"
    placed = place_findings(record.decision.clusters, change.files)
    plan = record.input.round
    current = Round(head_sha=pr.head_sha, decision=decision + (" (stale)" if stale else ""),
                    tallies=record.decision.tally_line(), fired_by=fired_by, at=now_iso(),
                    findings=tracked(record.decision.clusters), base_sha=pr.base_sha,
                    config=record.config.digest, mode=plan.mode, unreviewed=[
                        p for p in record.input.omitted
                        if not matches(p, profile.policy.size_exclude)][:200])
    previous = next((r for r in reversed(rounds) if r.findings is not None), None)
    since = None
    if previous is not None:
        since = (previous, carried_diff(record.decision) if plan.incremental
                 else compare(previous.findings or [], current.findings or []))
    rounds = ([slim_round(r) for r in rounds] + [current])[-config.gate.history_rounds:]
    body = render_decision(record, prompter, history=rounds, placed=placed, since=since,
                           inline=config.gate.inline, seat_sections=single)
    body += "\n" + rounds_marker(rounds)
    posted_comment = upsert(forge, number, comments, login, DECISION_MARKER, body)
    description = status_description(record, prompter, stale=stale)
    if profile.demo:
        description = prompter.render("status_demo.j2", name=name).strip()[:140]
    holder = claim_holder(forge, pr.head_sha, context, login)
    if holder != run_id:  # a later run claimed meanwhile: put back what we overwrote
        restore(forge, before, login)
        dedupe(forge, number, login, [*bodies, DECISION_MARKER])
        return _superseded(record, pr.head_sha, holder)
    review_warning = None
    if config.gate.inline:
        review_warning = post_review(forge, number, login, pr.head_sha, placed, record,
                                      prompter, posted_comment.html_url)
    forge.set_status(pr.head_sha, state=state, context=context,
                     description=description, target_url=posted_comment.html_url)
    dedupe(forge, number, login, [*bodies, DECISION_MARKER],
            keep={**bodies, DECISION_MARKER: body})
    result = CanaryResult(decision=decision, state=state, head_sha=pr.head_sha,
                          description=description, target_url=posted_comment.html_url,
                          stale=stale, record=record)
    if review_warning:
        result.warnings.append(review_warning)
    return result


def _superseded(record: Record, sha: str, holder: str | None) -> CanaryResult:
    return CanaryResult(decision=record.decision.decision, state="superseded", head_sha=sha,
                        description=f"superseded by run {holder}: a later run on this pull "
                                    "request publishes the result; this one published nothing",
                        skipped=True, record=record)
