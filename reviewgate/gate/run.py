"""The gate on a forge: review a pull request, post the reasoning, set the commit status.

:func:`run_canary` follows one pull request from the forge to the status call:

1. read the pull request (metadata, head SHA, merge base);
2. set ``pending`` on that head SHA (the run's claim);
3. read its diff and every page of changed files, bound to the head (:mod:`.reading`: read
   again, checked against git's trees; a head that moved is not reviewed);
4. run the review (:func:`reviewgate.ensemble.pipeline.review_change`);
5. upsert one comment per seat and the decision comment, found by their header line AND the
   bot's login, edited in place; the decision comment keeps the last rounds (head SHA, merge
   base, decision, tallies, who fired it, when) in its trailer, merged with rows written since;
6. set the final status on the head SHA read in step 1, targeting the decision comment; if the
   head moved meanwhile, the description says the result is stale (the new head gets nothing
   from this run); an override that landed during the review keeps its ``success``;
7. optionally swap the decision labels.

Anything that fails after step 2 posts ``error`` with the reason: the gate never stays pending.
The steps' parts live beside this module: :mod:`.reading`, :mod:`.comments` (our comments and
the round history), :mod:`.status` (identity, run claims, ``read_gate`` for merge bots),
:mod:`.reviews` (line comments); comment commands and overrides in :mod:`.commands` and
:mod:`.override`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Callable

from ..context.prompts import Prompter
from ..core.config import Config, Profile
from ..core.decision import STATUS_FOR
from ..core.errors import ForgeError
from ..core.timestamps import now_iso
from ..ensemble.fanout import Progress
from ..ensemble.incremental import PreviousRound
from ..ensemble.pipeline import review_change
from ..ensemble.record import Record
from ..forge.base import Forge, PullRequest, safe_message
from ..publish.inline import place_findings
from ..publish.render import DECISION_MARKER, Round, render_decision, render_seat
from ..publish.render import seat_marker, status_description
from ..publish.rounds import carried_diff, compare, next_key, track_round
from .comments import dedupe, own_comment, read_rounds, restore, slim_round
from .comments import upsert
from .history import ForgeHistory, previous_from_rounds
from .reading import HeadMoved, bound_change
from .reviews import post_review
from .status import DECISIONS, OVERRIDE_PREFIX, claim_holder, known_login, latest_row
from .status import learn_login, override_since, post_error

#: Runs of one canary before a head that keeps moving is an error.
MOVE_TRIES = 3

__all__ = ["CanaryResult", "HeadMoved", "run_canary"]

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
               on_progress: Callable[[Progress], None] | None = None,
               retarget: bool = False) -> CanaryResult:
    """Review pull request ``number`` and publish the result (steps in the module docstring).

    The gate's identity is the token's login (``GET /user``) or the configured ``bot_login``;
    a token that cannot read ``GET /user`` (a GitHub App installation token, an Actions
    ``GITHUB_TOKEN``) is identified by the creator of its own ``pending`` claim, which carries
    a random run id no one else can know in advance.

    A decision holds for the pair (merge base, head SHA) it reviewed (DESIGN.md section 4,
    rule 9): a head that already has one for the same merge base is not reviewed again unless
    ``force``; a new merge base (a retargeted pull request) is. Should the head or the merge
    base move while the diff is read, nothing read counts: ``error`` goes on the old head
    ("not reviewed") and the new head is reviewed instead (:data:`MOVE_TRIES` times at most).

    Args:
        forge: the repository's forge adapter.
        number: the pull request number.
        config: configuration (profiles, ``gate.context``, ``gate.labels``).
        profile_name: the profile to run; None: the default.
        fired_by: who asked (``ci``, a login, ``operator``); recorded in the round history.
        force: review even when this head SHA already has a decision, asking every model
            again (no ballot is taken from the verdict cache).
        retarget: the run was fired by a new base: ``pending`` goes on the head right after
            the pull request is read, before anything else (a forge's "merge when checks
            succeed" must not merge on the old pass meanwhile).

    Raises:
        ForgeError: the pull request cannot be read (nothing is posted then), or publishing
            failed (``error`` was posted first when possible).
        ReviewgateError: the review could not run (``error`` was posted first).
    """
    context = config.gate.context
    pr = forge.get_pull(number)
    if retarget:
        forge.set_status(pr.head_sha, state="pending", context=context,
                         description="reviewgate: the base changed; reviewing again")
    login = known_login(forge)
    for attempt in range(MOVE_TRIES):
        try:
            return _run_once(forge, pr, login=login, config=config, profile_name=profile_name,
                             fired_by=fired_by, force=force, label=label,
                             on_progress=on_progress)
        except HeadMoved as moved:
            post_error(forge, pr.head_sha, context, moved, prefix="not reviewed: ")
            if attempt + 1 == MOVE_TRIES:
                raise ForgeError(f"{moved} ({MOVE_TRIES} times): not reviewed") from None
            pr, login = moved.pr, known_login(forge) if login is None else login
    raise AssertionError("unreachable")  # pragma: no cover


def _run_once(forge: Forge, pr: PullRequest, *, login: str | None, config: Config,
              profile_name: str | None, fired_by: str, force: bool, label: str,
              on_progress: Callable[[Progress], None] | None) -> CanaryResult:
    """One run on the head ``pr`` names: the claim, the review, the publishing.

    Raises:
        HeadMoved: the head or merge base changed while the diff was read (``pending`` was
            posted on the old head; the caller replaces it with ``error``).
    """
    context, number = config.gate.context, pr.number
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
    except HeadMoved:
        raise
    except BaseException as exc:  # SIGTERM/SIGINT (KeyboardInterrupt) included: never pending
        post_error(forge, pr.head_sha, context, exc)
        raise
    if config.gate.labels and result.state != "superseded":
        try:
            _swap_labels(forge, number, config.gate.labels, result.decision)
        except ForgeError as exc:
            result.warnings.append(f"labels not updated: {safe_message(exc)}")
    return result


def _decided_round(rounds: list[Round], pr: PullRequest) -> Round | None:
    """The last round of the history when it decided (merge, defer or split) this head
    against this merge base; None otherwise."""
    if not rounds:
        return None
    last = rounds[-1]
    if (last.head_sha == pr.head_sha and last.decision in DECISIONS[:3]
            and last.merge_base and last.merge_base == (pr.merge_base or pr.base_sha)):
        return last
    return None


def _already_decided(forge: Forge, pr: PullRequest, context: str, login: str, *,
                     own_claim: str | None = None) -> CanaryResult | None:
    """The earlier decision on this head SHA and merge base, when the decision comment's last
    round decided them and the bot's latest status row on the head still says so; None
    otherwise (no decision, another merge base, or the latest row is ``pending`` or ``error``:
    a run in progress or one that was killed, so the head is reviewed again). ``own_claim``:
    this run's id, whose pending row is not counted."""
    decision_comment = own_comment(forge.list_comments(pr.number), login, DECISION_MARKER)
    rounds = read_rounds(decision_comment.body) if decision_comment else []
    last = _decided_round(rounds, pr)
    if last is None:
        return None
    rows = [s for s in forge.list_statuses(pr.head_sha)
            if s.context == context and s.creator == login
            and not (own_claim and f"run {own_claim}" in s.description)]
    latest = latest_row(rows)
    if latest is None or latest.state != STATUS_FOR[last.decision]:
        return None
    return CanaryResult(decision=last.decision, state=latest.state, head_sha=pr.head_sha,
                        description=latest.description, target_url=latest.target_url or (
                            decision_comment.html_url if decision_comment else ""),
                        skipped=True)


def _bound_to_status(forge: Forge, previous: PreviousRound | None, context: str,
                     login: str) -> PreviousRound | None:
    """``previous`` with ``problem`` set unless its head carries the gate's own final status
    for its decision (the latest row of ``login`` in ``context`` is ``success`` for merge,
    ``failure`` for defer/split): a round whose status never landed, or that someone else's
    record claims, is never built upon (the round is whole)."""
    if previous is None or previous.problem or previous.decision not in DECISIONS[:3]:
        return previous
    try:
        rows = [s for s in forge.list_statuses(previous.head_sha)
                if s.context == context and s.creator == login]
    except ForgeError as exc:
        previous.problem = f"the previous round's status cannot be read ({safe_message(exc)})"
        return previous
    latest = latest_row(rows)
    wanted = STATUS_FOR[previous.decision]
    if latest is None or latest.state != wanted or latest.description.startswith(
            OVERRIDE_PREFIX):
        previous.problem = (f"the previous round's head {previous.head_sha[:7]} does not carry "
                            f"the gate's own {wanted} status")
    return previous


def _round_key(r: Round) -> tuple[str, str, str, str]:
    return (r.head_sha, r.decision, r.fired_by, r.at)


def merge_rounds(start: list[Round], fresh: list[Round], current: Round,
                 keep: int) -> list[Round]:
    """The round history to write: the rounds read when the run started, the rows others wrote
    since (an override, another run: read again just before writing, never overwritten), then
    this run's round; the last ``keep``."""
    known = {_round_key(r) for r in start}
    since = [r for r in fresh if _round_key(r) not in known]
    return ([slim_round(r) for r in start + since] + [current])[-keep:]


def _review_and_publish(forge: Forge, pr: PullRequest, *, config: Config, name: str,
                        profile: Profile, prompter: Prompter, login: str, run_id: str,
                        fired_by: str, force: bool, label: str,
                        on_progress: Callable[[Progress], None] | None) -> CanaryResult:
    """Steps 3-5 of the module docstring, after the pending claim.

    Raises:
        HeadMoved: the head or the merge base changed while the diff was read.
    """
    context, number = config.gate.context, pr.number
    comments = forge.list_comments(number)
    decision_comment = own_comment(comments, login, DECISION_MARKER)
    rounds = read_rounds(decision_comment.body) if decision_comment else []
    pr, change = bound_change(forge, pr, label)
    previous = _bound_to_status(forge, previous_from_rounds(rounds), context, login)
    record = review_change(change, config=config, profile_name=name, prompter=prompter,
                           on_progress=on_progress, cache_read=not force,
                           reader=forge.read_file, previous=previous,
                           history=ForgeHistory(forge), whole=force,
                           no_previous="no earlier reviewed round on this pull request",
                           spent_usd=sum(r.cost for r in rounds))
    if profile.demo:  # fail closed: a demo model never passes the gate; one final state
        record.decision = record.decision.model_copy(update={
            "decision": "error", "state": "error",
            "reasons": [prompter.render("status_demo.j2", name=name).strip()]
            + record.decision.reasons})
    holder = claim_holder(forge, pr.head_sha, context, login)
    if holder != run_id:
        return _superseded(record, pr.head_sha, holder)
    single = config.gate.comments == "single"
    limit = forge.comment_limit
    bodies = {} if single else {seat_marker(seat.name): render_seat(record, seat.name, prompter,
                                                                    limit=limit)
                                for seat in profile.seats}
    comments = forge.list_comments(number)  # fresh: what we would overwrite
    before = {m: c for m in [*bodies, DECISION_MARKER]
              if (c := own_comment(comments, login, m)) is not None}
    for marker, seat_body in bodies.items():
        upsert(forge, number, comments, login, marker, seat_body)
    now = forge.get_pull(number)
    stale = (now.head_sha, now.merge_base) != (pr.head_sha, pr.merge_base)
    decision, state = record.decision.decision, record.decision.state
    placed = place_findings(record.decision.clusters, change.files)
    plan = record.input.round
    prior = next((r for r in reversed(rounds) if r.findings is not None), None)
    findings, outcome = track_round(record, prior.findings if prior else None,
                                    next_key([r.outcome for r in rounds],
                                             prior.findings if prior else None))
    current = Round(head_sha=pr.head_sha, decision=decision + (" (stale)" if stale else ""),
                    tallies=record.decision.tally_line(), fired_by=fired_by, at=now_iso(),
                    findings=findings, base_sha=pr.base_sha,
                    config=record.config.digest, mode=plan.mode,
                    unreviewed=record.decision.coverage.files[:200],
                    merge_base=pr.merge_base or pr.base_sha, cost=record.usage.cost_usd,
                    outcome=outcome)
    since = None
    if prior is not None:
        since = (prior, carried_diff(record.decision) if plan.incremental
                 else compare(prior.findings or [], current.findings or []))
    fresh_comment = before.get(DECISION_MARKER)
    fresh = read_rounds(fresh_comment.body) if fresh_comment else []
    history = merge_rounds(rounds, fresh, current, config.gate.history_rounds)
    body = render_decision(record, prompter, history=history, placed=placed, since=since,
                           inline=config.gate.inline, seat_sections=single, trailer=True,
                           limit=limit)
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
    if review_warning:  # said where people look: the decision comment
        record.warnings.append(review_warning)
        body = render_decision(record, prompter, history=history, placed=placed, since=since,
                               inline=config.gate.inline, seat_sections=single, trailer=True,
                           limit=limit)
        posted_comment = upsert(forge, number, forge.list_comments(number), login,
                                DECISION_MARKER, body)
    override = override_since(forge, pr.head_sha, context, run_id, login)
    if override is None:
        forge.set_status(pr.head_sha, state=state, context=context,
                         description=description, target_url=posted_comment.html_url)
    dedupe(forge, number, login, [*bodies, DECISION_MARKER],
            keep={**bodies, DECISION_MARKER: body})
    result = CanaryResult(decision=decision, state=state, head_sha=pr.head_sha,
                          description=description, target_url=posted_comment.html_url,
                          stale=stale, record=record)
    if override is not None:
        result.warnings.append(f"{override.description[:80]} landed during this review; the "
                               "override's success stands (not replaced)")
    if review_warning:
        result.warnings.append(review_warning)
    return result


def _superseded(record: Record, sha: str, holder: str | None) -> CanaryResult:
    return CanaryResult(decision=record.decision.decision, state="superseded", head_sha=sha,
                        description=f"superseded by run {holder}: a later run on this pull "
                                    "request publishes the result; this one published nothing",
                        skipped=True, record=record)
