"""The gate's commit status: who the gate is, which run holds the claim on a head SHA, the error
status of a failed run, and what the gate says for a pull request's current head (merge bots).

Statuses are read per row (Forgejo's ``status`` field, GitHub's ``state``); only rows the gate's
own login created count.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from ..core.errors import ForgeError
from ..core.timestamps import age_s
from ..forge.base import Forge, StatusRow, safe_message

__all__ = ["DECISIONS", "OVERRIDE_PREFIX", "GateReading", "claim_holder", "known_login",
           "latest_row", "learn_login", "post_error", "read_gate"]

DECISIONS = ("merge", "defer", "split", "error")


#: How an override's status description starts (``gate-status`` reads it back).
OVERRIDE_PREFIX = "override by "


def latest_row(rows: list[StatusRow]) -> StatusRow | None:
    """The most recent status row (by creation time, then id), or None for no rows. The one
    place the gate picks "the latest status"."""
    return max(rows, key=lambda s: (s.created_at, s.id)) if rows else None


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
    login = min(rows, key=lambda s: (s.created_at, s.id)).creator
    forge.adopt_login(login)
    return login


def post_error(forge: Forge, sha: str, context: str, exc: BaseException) -> None:
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
        age = age_s(latest.created_at, now)
        if age is None or age > max_pending_s:
            return GateReading(gate="error", sha=pr.head_sha, url=latest.target_url,
                               description=f"pending since {latest.created_at or '?'}: the run "
                                           "never finished")
    if latest.state == "success" and latest.description.startswith(OVERRIDE_PREFIX):
        return GateReading(gate="merge", sha=pr.head_sha, url=latest.target_url,
                           description=latest.description, override=True)
    words = re.findall(r"[a-z]+", latest.description.lower())
    named = next((w for w in words if w in DECISIONS), None)
    gate = {"success": "merge", "pending": "pending", "error": "error"}.get(latest.state)
    if gate is None:  # failure, warning, anything else: never a pass
        gate = "split" if named == "split" else "defer"
    if gate == "merge" and named not in (None, "merge"):
        gate = "error"  # a success whose description names another decision is not ours
    return GateReading(gate=gate, sha=pr.head_sha, url=latest.target_url,
                       description=latest.description)
