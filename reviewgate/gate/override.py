"""Audited overrides (DESIGN.md sections 4 and 9): ``success`` set by a person with write access,
bound to the head SHA that person saw, recorded with their login.

An override names its head with the full SHA (``--sha``: 40 hex digits, or 64 in a SHA-256
repository): a short prefix can be matched by a commit the author crafts in advance and pushes
after the override was written. The status is posted on that SHA, only while it is the pull
request's head; its description names who, on which head and against which merge base
(``override by LOGIN on SHA12, base MB12: reason``). The decision comment and its round
history are written only after the status landed, so a failed override leaves nothing that
reads as done.

Who overrides is never the bot by configuration: a comment override acts as its commenter; the
command line acts as the token's own user, asked of the forge (``GET /user``); a token that
cannot say (a GitHub App or Actions token) cannot override.
"""

from __future__ import annotations

import re

from ..core.config import Config
from ..core.errors import ForgeError, UserError
from ..core.timestamps import now_iso
from ..forge.base import Forge
from ..publish import markers
from ..publish.render import DECISION_MARKER, Round, override_note, posted, round_record
from ..publish.sanitize import plain
from .comments import own_comment, read_rounds, slim_round, spent_usd
from .run import CanaryResult
from .status import OVERRIDE_PREFIX, WRITE_PERMISSIONS

__all__ = ["FULL_SHA", "WRITE_PERMISSIONS", "OverrideRefused", "override_gate", "token_user"]

#: A full commit SHA: SHA-1 (40 hex digits) or SHA-256 (64).
FULL_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class OverrideRefused(UserError):
    """An override that must not act: wrong head, no full SHA, no write access, a token that
    cannot say whose it is. The message says what to do instead."""


def token_user(forge: Forge) -> str:
    """The login of the token's own user, asked of the forge (``GET /user``) whatever
    ``bot_login`` the configuration names.

    Raises:
        OverrideRefused: the forge will not say (401/403: a GitHub App installation token or an
            Actions ``GITHUB_TOKEN``): such a token cannot override.
        ForgeError: any other failure.
    """
    try:
        return forge.token_login()
    except ForgeError as exc:
        if exc.status_code in (401, 403):
            raise OverrideRefused("this token cannot say whose it is (GET /user is refused: a "
                                  "GitHub App or Actions token); an override needs a person's "
                                  "token with write access") from None
        raise


def override_gate(forge: Forge, *, number: int, config: Config, by: str, reason: str,
                  sha: str, poster: str | None = None) -> CanaryResult:
    """Set ``success`` on head ``sha`` of the pull request as an audited override by ``by``.

    The status description reads ``override by LOGIN on SHA12, base MB12: reason``; when the
    token is the gate's own (a comment override, or the command line run with the bot's token)
    the decision comment's round history records who, why, when, on which head and merge base;
    otherwise the person's own comment says so. A new head gets nothing from it (statuses
    belong to a SHA). The caller has checked that ``by`` may write.

    Args:
        sha: the full head SHA (40 or 64 hex digits) the person reviewed.
        poster: the login the token acts as (None: the gate's own, ``forge.whoami()``).

    Raises:
        OverrideRefused: ``sha`` is not a full SHA, or not the pull request's head.
        ForgeError: the pull request cannot be read or the status cannot be set (then no
            comment and no round were written).
    """
    sha = sha.lower()
    pr = forge.get_pull(number)
    if not FULL_SHA.fullmatch(sha):
        raise OverrideRefused(f"name the head you reviewed by its full SHA: --sha {pr.head_sha}")
    if pr.head_sha != sha:
        raise OverrideRefused(f"the head is now {pr.head_sha[:12]}, not {sha[:12]}: review the "
                              f"new head, then override naming it (--sha {pr.head_sha})")
    context = config.gate.context
    reason = plain(reason, limit=200)
    base = pr.merge_base or pr.base_sha
    description = posted(f"{OVERRIDE_PREFIX}{by} on {sha[:12]}, base {base[:12]}: "
                         f"{reason}")[:140]
    comments = forge.list_comments(number)
    bot = forge.whoami()
    poster = poster or bot
    existing = own_comment(comments, bot, DECISION_MARKER)
    target = existing.html_url if existing is not None else pr.html_url
    forge.set_status(sha, state="success", context=context, description=description,
                     target_url=target)
    row = Round(head_sha=sha, decision="override", tallies=reason, fired_by=by, at=now_iso(),
                base_sha=pr.base_sha, merge_base=base)
    note = override_note(by, sha, base, row.at, reason)
    if poster != bot:  # a person's own token cannot edit the gate's comment: a note of theirs
        posted_comment = forge.create_comment(number, markers.compose(
            markers.header("override"), note))
    elif existing is not None:
        earlier = read_rounds(existing.body)
        row.spent = spent_usd(earlier)  # the running total goes on: an override spends nothing
        rounds = ([slim_round(r) for r in earlier] + [row])[-config.gate.history_rounds:]
        content = markers.content_of(existing.body)
        body = markers.compose(DECISION_MARKER, content.rstrip() + "\n\n" + note,
                               [round_record(r) for r in rounds], limit=forge.comment_limit)
        posted_comment = forge.edit_comment(existing.id, body)
    else:
        body = markers.compose(DECISION_MARKER, f"## Review decision\n\n{note}",
                               [round_record(row)])
        posted_comment = forge.create_comment(number, body)
    return CanaryResult(decision="merge", state="success", head_sha=sha,
                        description=description, target_url=posted_comment.html_url)
