"""The gate on a forge: review a pull request, post the reasoning, set the commit status.

:func:`run_canary` follows one pull request from the forge to the status call:

1. read the pull request (metadata, head SHA), its diff and every page of changed files;
2. set ``pending`` on that head SHA;
3. run the review (:func:`reviewgate.gate.review_change`);
4. upsert one comment per seat and the decision comment, found by hidden marker AND the bot's
   login, edited in place; the decision comment keeps the last rounds (head SHA, decision,
   tallies, who fired it, when);
5. set the final status on the head SHA read in step 1, targeting the decision comment; if the
   head moved meanwhile, the description says the result is stale (the new head gets nothing
   from this run, so never ``success``);
6. optionally swap the decision labels.

Anything that fails after step 2 posts ``error`` with the reason: the gate never stays pending.
:func:`read_gate` is what merge bots use; comment commands and overrides live in
:mod:`reviewgate.steering`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Callable

from .changeset import ChangeSet, FileChange, parse_unified_diff, patch_section
from .config import Config, Profile
from .errors import ForgeError
from .forge.base import Comment, Forge, LineComment, PullRequest, StatusRow, safe_message
from .gate import review_change
from .inline import Placed, place_findings
from .prompts import Prompter
from .record import Record
from .render import DECISION_MARKER, Round, posted, render_decision, render_seat, sanitize
from .render import seat_marker
from .render import status_description
from .review import Progress
from .rounds import compare, tracked

__all__ = ["CanaryResult", "GateReading", "read_gate", "run_canary"]

_ROUNDS = re.compile(r"<!-- reviewgate:rounds (?P<data>\[.*?\]) -->", re.DOTALL)
_DECISIONS = ("merge", "defer", "split", "error")
#: How an override's status description starts (``gate-status`` reads it back).
OVERRIDE_PREFIX = "override by "


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


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _own(comments: list[Comment], login: str, marker: str) -> Comment | None:
    mine = [c for c in comments if c.author == login and marker in c.body]
    return mine[-1] if mine else None


def read_rounds(body: str) -> list[Round]:
    """The round history hidden in a decision comment (empty when none or unreadable)."""
    m = _ROUNDS.search(body or "")
    if not m:
        return []
    try:
        return [Round(**item) for item in json.loads(m.group("data"))]
    except (ValueError, TypeError):
        return []


def _rounds_marker(rounds: list[Round]) -> str:
    """The hidden round history; redacted like every posted text (findings are model text)."""
    data = json.dumps([r.__dict__ for r in rounds], separators=(",", ":")).replace(">", "\\u003e")
    return posted(f"<!-- reviewgate:rounds {data} -->")


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


#: Tries at creating one comment; between tries the comments are re-listed.
CREATE_TRIES = 3


def _upsert(forge: Forge, number: int, comments: list[Comment], login: str, marker: str,
            body: str) -> Comment:
    """Edit our comment holding ``marker`` (by ``login``), or create it.

    A create that fails with a server error or no response may still have landed: the
    comments are listed again and a landed copy is edited instead of posting a duplicate.

    Raises:
        ForgeError: a client error (4xx), or every try failed (the last error).
    """
    existing = _own(comments, login, marker)
    if existing is not None:
        return existing if existing.body == body else forge.edit_comment(existing.id, body)
    last: ForgeError | None = None
    for _ in range(CREATE_TRIES):
        try:
            return forge.create_comment(number, body)
        except ForgeError as exc:
            if exc.status_code is not None and exc.status_code < 500:
                raise
            last = exc
        landed = _own(forge.list_comments(number), login, marker)
        if landed is not None:
            return landed if landed.body == body else forge.edit_comment(landed.id, body)
    assert last is not None
    raise last


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
    login = _known_login(forge)
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
            done = None if force else _already_decided(forge, pr, context, login)
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
        _post_error(forge, pr.head_sha, context, exc)
        raise
    if config.gate.labels and result.state != "superseded":
        try:
            _swap_labels(forge, number, config.gate.labels, result.decision)
        except ForgeError as exc:
            result.warnings.append(f"labels not updated: {safe_message(exc)}")
    return result


def _known_login(forge: Forge) -> str | None:
    """The bot's login when the token (or the configuration) says it; None when the token
    cannot read ``GET /user`` (401/403) and no ``bot_login`` is configured."""
    try:
        return forge.whoami()
    except ForgeError as exc:
        if exc.status_code in (401, 403):
            return None
        raise


def learn_login(forge: Forge, sha: str, context: str, run_id: str) -> str:
    """The login that created our own ``pending`` claim (``run <run_id>`` in its description,
    the earliest such row), adopted as the forge adapter's login.

    Raises:
        ForgeError: no such row can be read back (then set ``[gate] bot_login``).
    """
    rows = [s for s in forge.list_statuses(sha) if s.context == context and s.state == "pending"
            and f"run {run_id}" in s.description and s.creator]
    if not rows:
        raise ForgeError("cannot tell the bot's login: GET /user is refused for this token and "
                         "its own pending status cannot be read back; set [gate] bot_login")
    login = min(rows, key=lambda s: (s.created_at, s.id)).creator
    forge.adopt_login(login)
    return login


def _already_decided(forge: Forge, pr: PullRequest, context: str,
                     login: str) -> CanaryResult | None:
    """The earlier decision on this head SHA, when the decision comment's last round decided
    it and the bot's latest final status row on it still says so; None otherwise."""
    decision_comment = _own(forge.list_comments(pr.number), login, DECISION_MARKER)
    rounds = read_rounds(decision_comment.body) if decision_comment else []
    if not (rounds and rounds[-1].head_sha == pr.head_sha
            and rounds[-1].decision in _DECISIONS[:3]):
        return None
    final = [s for s in forge.list_statuses(pr.head_sha)
             if s.context == context and s.creator == login and s.state != "pending"]
    latest = latest_row(final)
    if latest is None or latest.state == "error":
        return None
    return CanaryResult(decision=rounds[-1].decision, state=latest.state, head_sha=pr.head_sha,
                        description=latest.description, target_url=latest.target_url or (
                            decision_comment.html_url if decision_comment else ""),
                        skipped=True)


def latest_row(rows: list[StatusRow]) -> StatusRow | None:
    """The most recent status row (by creation time, then id), or None for no rows. The one
    place the gate picks "the latest status"."""
    return max(rows, key=lambda s: (s.created_at, s.id)) if rows else None


def _review_and_publish(forge: Forge, pr: PullRequest, *, config: Config, name: str,
                        profile: Profile, prompter: Prompter, login: str, run_id: str,
                        fired_by: str, force: bool, label: str,
                        on_progress: Callable[[Progress], None] | None) -> CanaryResult:
    """Steps 3-5 of the module docstring, after the pending claim."""
    context, number = config.gate.context, pr.number
    comments = forge.list_comments(number)
    decision_comment = _own(comments, login, DECISION_MARKER)
    rounds = read_rounds(decision_comment.body) if decision_comment else []
    change = _change(forge, pr, label)
    record = review_change(change, config=config, profile_name=name, prompter=prompter,
                           on_progress=on_progress, cache_read=not force,
                           reader=forge.read_file)
    holder = claim_holder(forge, pr.head_sha, context, login)
    if holder != run_id:
        return _superseded(record, pr.head_sha, holder)
    single = config.gate.comments == "single"
    bodies = {} if single else {seat_marker(seat.name): render_seat(record, seat.name, prompter)
                                for seat in profile.seats}
    comments = forge.list_comments(number)  # fresh: what we would overwrite
    before = {m: c for m in [*bodies, DECISION_MARKER]
              if (c := _own(comments, login, m)) is not None}
    for marker, seat_body in bodies.items():
        _upsert(forge, number, comments, login, marker, seat_body)
    stale = forge.get_pull(number).head_sha != pr.head_sha
    decision, state = record.decision.decision, record.decision.state
    if profile.demo:  # fail closed: a demo model never passes the gate
        decision, state = "error", "error"
    placed = place_findings(record.decision.clusters, change.files)
    current = Round(head_sha=pr.head_sha, decision=decision + (" (stale)" if stale else ""),
                    tallies=record.decision.tally_line(), fired_by=fired_by, at=_now(),
                    findings=tracked(record.decision.clusters))
    previous = next((r for r in reversed(rounds) if r.findings is not None), None)
    since = (previous, compare(previous.findings or [], current.findings or [])) \
        if previous is not None else None
    rounds = ([_slim(r) for r in rounds] + [current])[-config.gate.history_rounds:]
    body = render_decision(record, prompter, history=rounds, placed=placed, since=since,
                           inline=config.gate.inline, seat_sections=single)
    body += "\n" + _rounds_marker(rounds)
    posted_comment = _upsert(forge, number, comments, login, DECISION_MARKER, body)
    description = status_description(record, prompter, stale=stale)
    if profile.demo:
        description = prompter.render("status_demo.j2", name=name).strip()[:140]
    holder = claim_holder(forge, pr.head_sha, context, login)
    if holder != run_id:  # a later run claimed meanwhile: put back what we overwrote
        _restore(forge, before, login)
        _dedupe(forge, number, login, [*bodies, DECISION_MARKER])
        return _superseded(record, pr.head_sha, holder)
    review_warning = None
    if config.gate.inline:
        review_warning = _post_review(forge, number, login, pr.head_sha, placed, record,
                                      prompter, posted_comment.html_url)
    forge.set_status(pr.head_sha, state=state, context=context,
                     description=description, target_url=posted_comment.html_url)
    _dedupe(forge, number, login, [*bodies, DECISION_MARKER],
            keep={**bodies, DECISION_MARKER: body})
    result = CanaryResult(decision=decision, state=state, head_sha=pr.head_sha,
                          description=description, target_url=posted_comment.html_url,
                          stale=stale, record=record)
    if review_warning:
        result.warnings.append(review_warning)
    return result


def _restore(forge: Forge, before: dict[str, Comment], login: str) -> None:
    """Put back the bodies a superseded run overwrote (the later run's, or an earlier round's),
    so its round never stays in the history."""
    for comment in before.values():
        try:
            forge.edit_comment(comment.id, comment.body)
        except ForgeError:
            pass  # deleted meanwhile by the later run's de-duplication


def _slim(r: Round) -> Round:
    """An older round as kept in the history: its findings dropped (only the latest round's
    findings are compared against)."""
    return Round(head_sha=r.head_sha, decision=r.decision, tallies=r.tallies,
                 fired_by=r.fired_by, at=r.at)


#: Hidden marker of the gate's pull request review (with the head SHA it reviewed).
REVIEW_MARKER = "<!-- reviewgate:review -->"
#: Marker of a review retired by a later round (GitHub keeps submitted reviews).
RETIRED_MARKER = "<!-- reviewgate:review-retired -->"
#: Most line comments in one review.
MAX_INLINE = 40


def _post_review(forge: Forge, number: int, login: str, sha: str, placed: list[Placed],
                 record: Record, prompter: Prompter, decision_url: str) -> str | None:
    """Post this round's line comments as one comment review, then retire the bot's earlier
    reviews (every live one but the newest: two runs at once converge on one). Returns a
    warning instead of raising: the decision comment already holds every finding."""
    on_diff = [p for p in placed if p.on_diff][:MAX_INLINE]
    try:
        before = {r.id for r in forge.list_reviews(number)
                  if r.author == login and REVIEW_MARKER in r.body}
        if on_diff:
            comments = [LineComment(path=p.path or "", line=p.line or 0, body=posted(
                prompter.render("inline_comment.md.j2", c=p.cluster, s=sanitize)).strip())
                for p in on_diff]
            body = posted(prompter.render("review_body.md.j2", marker=REVIEW_MARKER, sha=sha,
                                          count=len(comments), url=decision_url,
                                          d=record.decision)).strip()
            try:
                forge.create_review(number, commit_id=sha, body=body, comments=comments)
            except ForgeError as exc:
                if exc.status_code is not None and exc.status_code < 500:
                    raise
                # the reply may be lost after the review landed: the re-list below tells
        live = [r for r in forge.list_reviews(number)
                if r.author == login and REVIEW_MARKER in r.body and RETIRED_MARKER not in r.body]
        if not live:
            return None if not on_diff else "line comments not posted: the review did not land"
        newest = max(r.id for r in live)
        keep = newest if on_diff and newest not in before else None
        note = prompter.render("review_retired.md.j2", marker=REVIEW_MARKER,
                               retired=RETIRED_MARKER, sha=sha, url=decision_url).strip()
        for r in live:
            if r.id != keep:
                forge.retire_review(number, r, note)
    except ForgeError as exc:
        return f"line comments not updated: {safe_message(exc)}"
    return None


_RUN_ID = re.compile(r"\brun ([0-9a-f]{8})\b")


def claim_holder(forge: Forge, sha: str, context: str, login: str) -> str | None:
    """The run id of the latest claim on ``sha``: our own latest ``pending`` row in ``context``
    whose description carries ``run <id>`` (the later claim wins)."""
    rows = [s for s in forge.list_statuses(sha) if s.context == context and s.creator == login
            and s.state == "pending" and _RUN_ID.search(s.description)]
    if not rows:
        return None
    latest = latest_row(rows)
    return _RUN_ID.search(latest.description).group(1)  # type: ignore[union-attr]


def _superseded(record: Record, sha: str, holder: str | None) -> CanaryResult:
    return CanaryResult(decision=record.decision.decision, state="superseded", head_sha=sha,
                        description=f"superseded by run {holder}: a later run on this pull "
                                    "request publishes the result; this one published nothing",
                        skipped=True, record=record)


def _dedupe(forge: Forge, number: int, login: str, markers: list[str],
            keep: dict[str, str] | None = None) -> None:
    """Delete our duplicate comments (two runs that both created one): per marker the oldest
    stays; ``keep`` gives the body it must hold (the current claim's)."""
    comments = forge.list_comments(number)
    for marker in markers:
        mine = sorted((c for c in comments if c.author == login and marker in c.body),
                      key=lambda c: c.id)
        if len(mine) < 2:
            continue
        first, extra = mine[0], mine[1:]
        wanted = (keep or {}).get(marker)
        if wanted is not None and first.body != wanted:
            forge.edit_comment(first.id, wanted)
        for comment in extra:
            try:
                forge.delete_comment(comment.id)
            except ForgeError:
                pass  # the other run deleted it first


def _post_error(forge: Forge, sha: str, context: str, exc: BaseException) -> None:
    reason = (f"cancelled ({exc or 'interrupted'})" if isinstance(exc, KeyboardInterrupt)
              else safe_message(exc))
    try:
        forge.set_status(sha, state="error", context=context,
                         description=f"reviewgate error: {reason}"[:140])
    except Exception:  # noqa: BLE001 - the original error is what the caller reports
        pass


@dataclass
class GateReading:
    """What the gate says for a pull request's current head.

    ``gate`` is merge, defer, split, error, pending or missing; ``passed`` only for merge.
    """

    gate: str
    sha: str
    url: str = ""
    description: str = ""
    override: bool = False

    @property
    def passed(self) -> bool:
        """True only when the gate decided merge for the current head SHA."""
        return self.gate == "merge"


def read_gate(forge: Forge, number: int, context: str, *, owner: str | None = None,
              max_pending_s: float = 1800.0, now: dt.datetime | None = None) -> GateReading:
    """The latest gate status on the pull request's *current* head SHA.

    Only rows posted by ``owner`` (the gate bot's login; None: the token's own login) count, so
    another actor's status in the same context cannot pass the gate. A status left on an older
    head does not count (``missing``); a ``pending`` older than ``max_pending_s`` seconds is read
    as ``error`` (the run was killed). Forgejo's per-row ``status`` field is read, not the
    combined ``state``.
    """
    pr = forge.get_pull(number)
    owner = owner or forge.whoami()
    rows = [s for s in forge.list_statuses(pr.head_sha)
            if s.context == context and s.creator == owner]
    latest = latest_row(rows)
    if latest is None:
        return GateReading(gate="missing", sha=pr.head_sha)
    if latest.state == "pending":
        age = _age_s(latest.created_at, now)
        if age is None or age > max_pending_s:
            return GateReading(gate="error", sha=pr.head_sha, url=latest.target_url,
                               description=f"pending since {latest.created_at or '?'}: the run "
                                           "never finished")
    if latest.state == "success" and latest.description.startswith(OVERRIDE_PREFIX):
        return GateReading(gate="merge", sha=pr.head_sha, url=latest.target_url,
                           description=latest.description, override=True)
    words = re.findall(r"[a-z]+", latest.description.lower())
    named = next((w for w in words if w in _DECISIONS), None)
    gate = {"success": "merge", "pending": "pending", "error": "error"}.get(latest.state)
    if gate is None:  # failure, warning, anything else: never a pass
        gate = "split" if named == "split" else "defer"
    if gate == "merge" and named not in (None, "merge"):
        gate = "error"  # a success whose description names another decision is not ours
    return GateReading(gate=gate, sha=pr.head_sha, url=latest.target_url,
                       description=latest.description)


def _age_s(stamp: str, now: dt.datetime | None) -> float | None:
    """Seconds since an RFC 3339 time stamp (``...Z`` or with offset); None when unreadable."""
    try:
        when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return ((now or dt.datetime.now(dt.timezone.utc)) - when).total_seconds()
