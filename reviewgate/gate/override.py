"""Audited overrides (DESIGN.md sections 4 and 9): ``success`` set by a person with write access,
bound to the head SHA that person saw, recorded with their login.

The status is set first; the decision comment and its round history are written only after the
status landed, so a failed override leaves nothing that reads as done.
"""

from __future__ import annotations

from ..core.config import Config
from ..core.errors import UserError
from ..core.timestamps import now_iso, parse_time
from ..forge.base import Forge, PullRequest
from ..publish.render import DECISION_MARKER, Round, posted, sanitize
from .comments import ROUNDS_RE, own_comment, read_rounds, rounds_marker
from .run import CanaryResult
from .status import OVERRIDE_PREFIX

__all__ = ["WRITE_PERMISSIONS", "OverrideRefused", "override_gate"]

#: Permissions that may steer the gate (Forgejo/Gitea: write, admin, owner; GitHub adds
#: maintain). ``GET /repos/{o}/{r}/collaborators/{user}/permission`` in both APIs.
WRITE_PERMISSIONS = frozenset({"write", "admin", "owner", "maintain"})


class OverrideRefused(UserError):
    """An override that must not act: wrong head, head moved since the request, no write
    access. The message says what to do instead."""


def _bound_head(forge: Forge, pr: PullRequest, *, login: str, context: str, sha: str | None,
                asked_at: str | None) -> None:
    """Check that the override acts on the head SHA its author saw.

    With ``sha`` (a prefix of at least 7 hex digits), the current head must start with it.
    Without, the head must provably have been the head when the request was written: the
    gate's own status rows on it (server time stamps) include one from before ``asked_at``.

    Raises:
        OverrideRefused: the head is another, or it may have moved after the request.
    """
    if sha is not None:
        if not pr.head_sha.startswith(sha.lower()):
            raise OverrideRefused(f"the head is now {pr.head_sha[:12]}, not {sha[:12]}: "
                                  "review the new head, then override naming it")
        return
    asked = parse_time(asked_at)
    if asked is None:
        raise OverrideRefused("cannot tell which head the override was meant for: name it "
                              f"(--sha {pr.head_sha[:12]})")
    seen = [parse_time(s.created_at) for s in forge.list_statuses(pr.head_sha)
            if s.creator == login and s.context == context]
    if not any(t is not None and t <= asked for t in seen):
        raise OverrideRefused(f"the head moved to {pr.head_sha[:12]} after the override was "
                              f"asked for: review it, or name it (--sha {pr.head_sha[:12]})")


def override_gate(forge: Forge, *, number: int, config: Config, by: str, reason: str,
                  sha: str | None = None, asked_at: str | None = None) -> CanaryResult:
    """Set ``success`` on the pull request's head as an audited override by ``by``.

    The status description reads ``override by LOGIN on SHA12: reason``; the decision
    comment's round history records who, why, when and on which SHA. A new head gets nothing
    from it (statuses belong to a SHA). The caller has checked that ``by`` may write.

    Args:
        sha: the head SHA (prefix, 7-40 hex digits) the person saw; see ``asked_at``.
        asked_at: RFC 3339 time the override was asked for (the comment's ``created_at``);
            used when ``sha`` is None: the override is refused if the head may have moved
            after it. Both None: refused.

    Raises:
        OverrideRefused: the head is not the one the person saw.
        ForgeError: the pull request cannot be read or the status cannot be set (then no
            comment and no round were written).
    """
    pr = forge.get_pull(number)
    login = forge.whoami()
    context = config.gate.context
    _bound_head(forge, pr, login=login, context=context, sha=sha, asked_at=asked_at)
    reason = sanitize(reason, cell=True, limit=200)
    head = pr.head_sha
    description = posted(f"{OVERRIDE_PREFIX}{by} on {head[:12]}: {reason}")[:140]
    comments = forge.list_comments(number)
    existing = own_comment(comments, login, DECISION_MARKER)
    target = existing.html_url if existing is not None else pr.html_url
    forge.set_status(head, state="success", context=context, description=description,
                     target_url=target)
    rounds = read_rounds(existing.body) if existing else []
    rounds = (rounds + [Round(head_sha=head, decision="override", tallies=reason,
                              fired_by=by, at=now_iso())])[-config.gate.history_rounds:]
    note = (f"\n\n> 🔓 Override by @\u200b{sanitize(by, cell=True)} on `{head[:12]}` at "
            f"{rounds[-1].at}: {reason}\n")
    if existing is not None:
        body = ROUNDS_RE.sub("", existing.body).rstrip() + note + "\n" + rounds_marker(rounds)
        posted_comment = forge.edit_comment(existing.id, body)
    else:
        body = f"{DECISION_MARKER}\n## Review decision{note}\n{rounds_marker(rounds)}"
        posted_comment = forge.create_comment(number, body)
    return CanaryResult(decision="merge", state="success", head_sha=head,
                        description=description, target_url=posted_comment.html_url)
