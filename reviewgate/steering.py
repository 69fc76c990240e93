"""Who steers the gate: comment commands and audited overrides (DESIGN.md sections 4 and 9).

- :func:`handle_comment` acts on an ``issue_comment`` event: only an exact command
  (:func:`reviewgate.commands.find_command`) from a user whose repository permission is write,
  maintain, admin or owner does anything. Anyone else gets at most one refusal comment per pull
  request and head SHA (edited in place, never a new one per comment).
- :func:`override_gate` sets ``success`` as an audited override: bound to the head SHA the
  person saw, recorded with the login that asked. The status is set first; the decision
  comment and its round history are written only after the status landed, so a failed
  override leaves nothing that reads as done.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

from .canary import (DECISION_MARKER, CanaryResult, _now, _own, _rounds_marker, _ROUNDS,
                     read_rounds, run_canary)
from .commands import find_command
from .config import Config
from .errors import UserError
from .forge.base import Forge, PullRequest
from .prompts import Prompter
from .render import Round, posted, sanitize
from .review import Progress

__all__ = ["OVERRIDE_PREFIX", "WRITE_PERMISSIONS", "CommentOutcome", "OverrideRefused",
           "handle_comment", "override_gate"]

#: Permissions that may steer the gate (Forgejo/Gitea: write, admin, owner; GitHub adds
#: maintain). ``GET /repos/{o}/{r}/collaborators/{user}/permission`` in both APIs.
WRITE_PERMISSIONS = frozenset({"write", "admin", "owner", "maintain"})
#: How an override's status description starts (``gate-status`` reads it back).
OVERRIDE_PREFIX = "override by "
#: Hidden marker of a refusal comment, with the login it answers.
REFUSAL_MARKER = "<!-- reviewgate:refusal {login} -->"


class OverrideRefused(UserError):
    """An override that must not act: wrong head, head moved since the request, no write
    access. The message says what to do instead."""


def _when(stamp: str | None) -> dt.datetime | None:
    """An RFC 3339 time stamp as an aware datetime; None when missing or unreadable."""
    if not stamp:
        return None
    try:
        when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


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
    asked = _when(asked_at)
    if asked is None:
        raise OverrideRefused("cannot tell which head the override was meant for: name it "
                              f"(--sha {pr.head_sha[:12]})")
    seen = [_when(s.created_at) for s in forge.list_statuses(pr.head_sha)
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
    existing = _own(comments, login, DECISION_MARKER)
    target = existing.html_url if existing is not None else pr.html_url
    forge.set_status(head, state="success", context=context, description=description,
                     target_url=target)
    rounds = read_rounds(existing.body) if existing else []
    rounds = (rounds + [Round(head_sha=head, decision="override", tallies=reason,
                              fired_by=by, at=_now())])[-config.gate.history_rounds:]
    note = (f"\n\n> 🔓 Override by @\u200b{sanitize(by, cell=True)} on `{head[:12]}` at "
            f"{rounds[-1].at}: {reason}\n")
    if existing is not None:
        body = _ROUNDS.sub("", existing.body).rstrip() + note + "\n" + _rounds_marker(rounds)
        posted_comment = forge.edit_comment(existing.id, body)
    else:
        body = f"{DECISION_MARKER}\n## Review decision{note}\n{_rounds_marker(rounds)}"
        posted_comment = forge.create_comment(number, body)
    return CanaryResult(decision="merge", state="success", head_sha=head,
                        description=description, target_url=posted_comment.html_url)


@dataclass
class CommentOutcome:
    """What comment handling did: ``ignored``, ``refused``, ``fired`` or ``overridden`` (with
    the result)."""

    action: str
    reason: str = ""
    result: CanaryResult | None = None


def _refuse(forge: Forge, number: int, *, login: str, user: str, head: str,
            text: str) -> None:
    """Post (or edit) the one refusal comment for ``user`` on this pull request.

    At most one comment per user and pull request: an earlier refusal is edited when the head
    moved, and left alone (nothing posted) when it already answers this head.
    """
    marker = REFUSAL_MARKER.format(login=sanitize(user, cell=True, limit=80))
    body = f"{marker}\n<!-- head {head} -->\n{posted(text).strip()}"
    existing = _own(forge.list_comments(number), login, marker)
    if existing is None:
        forge.create_comment(number, body)
    elif f"<!-- head {head} -->" not in existing.body:
        forge.edit_comment(existing.id, body)


def handle_comment(forge: Forge, event: dict[str, Any], *, config: Config,
                   profile_name: str | None = None,
                   on_progress: Callable[[Progress], None] | None = None) -> CommentOutcome:
    """Handle an ``issue_comment`` event payload (Forgejo, Gitea or GitHub shape:
    ``action``, ``comment.body``, ``comment.user.login``, ``comment.created_at``,
    ``issue.number``, ``issue.pull_request``).

    ``/canary`` from a user with write access re-fires the canary (forced); ``/canary
    override`` overrides (:func:`override_gate`); a user without write access gets one refusal
    per head; a comment without an exact command is ignored.

    Raises:
        ForgeError: reading the permission or posting failed.
    """
    comment = event.get("comment") or {}
    issue = event.get("issue") or {}
    user = str((comment.get("user") or {}).get("login", ""))
    if event.get("action", "created") != "created":
        return CommentOutcome("ignored", "not a new comment")
    if not issue.get("pull_request"):
        return CommentOutcome("ignored", "comment is not on a pull request")
    command = find_command(str(comment.get("body") or ""))
    if command is None:
        return CommentOutcome("ignored", "no /canary command in the comment's Markdown")
    login = forge.whoami()
    if not user or user == login:
        return CommentOutcome("ignored", "comment by the bot itself")
    number = int(issue["number"])
    permission = forge.permission(user)
    word = "/canary override" if command.name == "override" else "/canary"
    if permission not in WRITE_PERMISSIONS:
        pr = forge.get_pull(number)
        prompter = Prompter(templates_dir=config.templates_dir, personas_dir=config.personas_dir)
        _refuse(forge, number, login=login, user=user, head=pr.head_sha, text=prompter.render(
            "refusal.md.j2", user=sanitize(user, cell=True), permission=permission,
            command=word))
        return CommentOutcome("refused", f"{user} has {permission} access, not write")
    if command.problem:
        pr = forge.get_pull(number)
        _refuse(forge, number, login=login, user=user, head=pr.head_sha,
                text=f"@{user}: `{word}` was not understood: {command.problem}. Nothing was done.")
        return CommentOutcome("refused", command.problem)
    if command.name == "override":
        try:
            result = override_gate(forge, number=number, config=config, by=user,
                                   reason=command.reason, sha=command.sha,
                                   asked_at=comment.get("created_at"))
        except OverrideRefused as exc:
            pr = forge.get_pull(number)
            _refuse(forge, number, login=login, user=user, head=pr.head_sha,
                    text=f"@{user}: `{word}` was refused: {exc}. Nothing was done.")
            return CommentOutcome("refused", str(exc))
        return CommentOutcome("overridden", result=result)
    result = run_canary(forge, number=number, config=config, profile_name=profile_name,
                        fired_by=user, force=True, on_progress=on_progress)
    return CommentOutcome("fired", result=result)
