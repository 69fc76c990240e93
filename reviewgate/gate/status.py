"""The gate's commit status: who the gate is, which run holds the claim on a head SHA, the error
status of a failed run, and what the gate says for a pull request's current head (merge bots).

Statuses are read per row (Forgejo's ``status`` field, GitHub's ``state``); only rows the gate's
own login created count.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass

from ..core.errors import ForgeError
from ..core.timestamps import age_s, parse_time
from ..forge.base import Forge, PullRequest, StatusRow, safe_message

__all__ = ["DECISIONS", "OVERRIDE_PREFIX", "WRITE_PERMISSIONS", "GateReading", "claim_holder",
           "known_login",
           "latest_row", "learn_login", "override_since", "post_error", "read_gate",
           "row_order"]

DECISIONS = ("merge", "defer", "split", "error")


#: How an override's status description starts (``gate-status`` reads it back).
OVERRIDE_PREFIX = "override by "


def row_order(row: StatusRow) -> tuple[dt.datetime, int]:
    """The sort key of a status row: its creation time as an instant (forges write their own
    UTC offset; an unreadable time sorts first), then its id."""
    when = parse_time(row.created_at) or dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    return when, row.id


def latest_row(rows: list[StatusRow]) -> StatusRow | None:
    """The most recent status row (by creation instant, then id), or None for no rows. The
    one place the gate picks "the latest status"."""
    return max(rows, key=row_order) if rows else None


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


def override_since(forge: Forge, sha: str, context: str, run_id: str,
                   login: str) -> StatusRow | None:
    """An override on ``sha`` (``success``, ``override by ...``; posted by the gate's ``login``
    for a comment, or by a writer as themselves) created after this run's own ``pending``
    claim (``run <run_id>``), compared by the forge's own time stamps as instants; None when
    there is none (or the claim cannot be found)."""
    rows = [s for s in forge.list_statuses(sha) if s.context == context]
    claims = [s for s in rows if s.creator == login and s.state == "pending"
              and f"run {run_id}" in s.description]
    if not claims:
        return None
    claimed = row_order(min(claims, key=row_order))
    writers: dict[str, bool] = {}
    later = [s for s in rows if row_order(s) > claimed and s.state == "success" and (
        (s.creator == login and s.description.startswith(OVERRIDE_PREFIX))
        or _writers_override(forge, s, sha, writers))]
    return latest_row(later)


def known_login(forge: Forge) -> str | None:
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
    login = min(rows, key=row_order).creator
    forge.adopt_login(login)
    return login


def post_error(forge: Forge, sha: str, context: str, exc: BaseException, *,
               prefix: str = "") -> None:
    """Set ``error`` on ``sha`` with the reason (redacted, 140 characters at most); a failure
    to post is swallowed (the caller reports the original error)."""
    cancelled = isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError))  # SIGINT, SIGTERM
    reason = f"cancelled ({exc or 'interrupted'})" if cancelled else safe_message(exc)
    try:
        forge.set_status(sha, state="error", context=context,
                         description=f"reviewgate error: {prefix}{reason}"[:140])
    except Exception:  # noqa: BLE001 - the original error is what the caller reports
        pass


@dataclass
class GateReading:
    """What the gate says for a pull request's current head.

    ``gate`` is merge, defer, split, error, pending, stale or missing; ``passed`` only for
    merge. ``stale``: the head's pass was for another merge base (the pull request was
    retargeted or its base merged in since): the gate must review it again.
    """

    gate: str
    sha: str
    url: str = ""
    description: str = ""
    override: bool = False

    @property
    def passed(self) -> bool:
        """True only when the gate decided merge for the current head SHA and merge base."""
        return self.gate == "merge"


#: Permissions that may steer the gate (Forgejo/Gitea: write, admin, owner; GitHub adds
#: maintain). ``GET /repos/{o}/{r}/collaborators/{user}/permission`` in both APIs.
WRITE_PERMISSIONS = frozenset({"write", "admin", "owner", "maintain"})
#: The merge base a status description names (``base`` + 12 hex digits), first occurrence.
_BASE = re.compile(r"\bbase ([0-9a-f]{12})\b")


def _writers_override(forge: Forge, row: StatusRow, sha: str, cache: dict[str, bool]) -> bool:
    """True for an override a person posted with their own token: ``success``, described as
    ``override by <its creator> on <sha12>, base ...``, by a user with write access."""
    if row.state != "success" or not row.creator or not row.description.startswith(
            f"{OVERRIDE_PREFIX}{row.creator} on {sha[:12]}, base "):
        return False
    if row.creator not in cache:
        try:
            cache[row.creator] = forge.permission(row.creator) in WRITE_PERMISSIONS
        except ForgeError:
            cache[row.creator] = False
    return cache[row.creator]


def read_gate(forge: Forge, number: int, context: str, *, owner: str | None = None,
              max_pending_s: float = 1800.0, now: dt.datetime | None = None,
              bind_base: bool = True, pr: PullRequest | None = None) -> GateReading:
    """The latest gate status on the pull request's *current* head SHA.

    Only rows posted by ``owner`` (the gate bot's login; None: the token's own login) count,
    and overrides a person with write access posted as themselves, so another actor's status
    in the same context cannot pass the gate. A status left on an older head does not count
    (``missing``); a ``pending`` older than ``max_pending_s`` seconds is read as ``error`` (the
    run was killed). A ``success`` passes only for the merge base it names (``base`` + 12 hex
    digits in its description): DESIGN.md section 4, rule 9; another one reads as ``stale``
    (``bind_base=False``: not compared, for a merge queue's group, which re-bases by design).
    Forgejo's per-row ``status`` field is read, not the combined ``state``. ``pr``: the pull
    request when the caller has just read it.
    """
    pr = pr or forge.get_pull(number)
    owner = owner or forge.whoami()
    writers: dict[str, bool] = {}
    rows = [s for s in forge.list_statuses(pr.head_sha) if s.context == context and (
        s.creator == owner or _writers_override(forge, s, pr.head_sha, writers))]
    latest = latest_row(rows)
    if latest is None:
        return GateReading(gate="missing", sha=pr.head_sha)
    if latest.state == "pending":
        age = age_s(latest.created_at, now)
        if age is None or age > max_pending_s:
            return GateReading(gate="error", sha=pr.head_sha, url=latest.target_url,
                               description=f"pending since {latest.created_at or '?'}: the run "
                                           "never finished")
    override = latest.state == "success" and latest.description.startswith(OVERRIDE_PREFIX)
    words = re.findall(r"[a-z]+", latest.description.lower())
    named = next((w for w in words if w in DECISIONS), None)
    gate = {"success": "merge", "pending": "pending", "error": "error"}.get(latest.state)
    if gate is None:  # failure, warning, anything else: never a pass
        gate = "split" if named == "split" else "defer"
    if gate == "merge" and not override and named not in (None, "merge"):
        gate = "error"  # a success whose description names another decision is not ours
    if gate == "merge" and bind_base:
        base = _BASE.search(latest.description)
        current = pr.merge_base or pr.base_sha
        if base is None or not current.startswith(base.group(1)):
            return GateReading(gate="stale", sha=pr.head_sha, url=latest.target_url,
                               description=f"passed against base "
                                           f"{base.group(1) if base else '(unnamed)'}, the "
                                           f"merge base is now {current[:12]}: review again",
                               override=override)
    return GateReading(gate=gate, sha=pr.head_sha, url=latest.target_url,
                       description=latest.description, override=override)
