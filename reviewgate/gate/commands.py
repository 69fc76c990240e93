"""Comment commands (``/canary``, ``/canary override``), found in the comment's Markdown.

DESIGN.md section 4: "a command counts only when it is exactly a command in the comment's
Markdown (not in a code block, quote or inline code)". The comment is parsed with a CommonMark
parser (markdown-it-py, with the GFM table and strikethrough rules the forges also render); a
command is one line of a top-level paragraph made only of plain text. So none of these is a
command: a fenced (```` ``` ```` or ``~~~``) or indented code block, a block quote, a list
item, inline code, emphasis, a link, an HTML block, a table cell, or a mention inside a sentence
("please don't /canary this yet").

Grammar (one line, words separated by spaces)::

    /canary [--force]
    /canary override --sha <the full head SHA> <reason>

:func:`handle_comment` acts on an ``issue_comment`` event: only an exact command from a user
whose repository permission is write, maintain, admin or owner does anything; anyone else gets
at most one refusal comment per pull request, edited when the head moves. An override must name
the head it is for with its full SHA (:mod:`.override`); without one it is refused with the
exact command for the current head.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Literal

from markdown_it import MarkdownIt

from ..context.prompts import Prompter
from ..core.config import Config
from ..ensemble.fanout import Progress
from ..forge.base import Forge
from ..publish import markers
from ..publish.render import posted, sanitize
from ..publish.sanitize import code
from .override import FULL_SHA, WRITE_PERMISSIONS, OverrideRefused, override_gate
from .run import CanaryResult, run_canary

__all__ = ["Command", "CommentOutcome", "find_command", "handle_comment", "refusal_header"]

_SHA = re.compile(r"[0-9a-f]{7,64}")
_PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


@dataclass(frozen=True)
class Command:
    """One command from a comment.

    ``name`` is ``canary`` (re-fire; ``force`` is always honoured as a fresh review) or
    ``override`` (with ``reason`` and an optional head ``sha`` prefix). ``problem`` is set when
    the line is a command word but malformed (the gate answers with the problem, acts on
    nothing).
    """

    name: Literal["canary", "override"]
    force: bool = False
    sha: str | None = None
    reason: str = ""
    problem: str = ""


def _lines(body: str) -> list[str]:
    """The plain-text lines of the comment's top-level paragraphs (a line holding anything but
    plain text, such as inline code or emphasis, is left out)."""
    tokens = _PARSER.parse(body or "")
    out: list[str] = []
    for i, token in enumerate(tokens):
        if token.type != "inline" or token.level != 1 or i == 0:
            continue
        if tokens[i - 1].type != "paragraph_open" or tokens[i - 1].level != 0:
            continue
        line: list[str] = []
        plain = True
        for child in (token.children or []) + [None]:
            if child is None or child.type in ("softbreak", "hardbreak"):
                if plain and line:
                    out.append("".join(line))
                line, plain = [], True
            elif child.type in ("text", "text_special"):
                line.append(child.content)
            else:
                plain = False
    return out


def _parse(line: str) -> Command | None:
    words = line.split()
    if not words or words[0] != "/canary":
        return None
    rest = words[1:]
    if not rest:
        return Command("canary")
    if rest == ["--force"]:
        return Command("canary", force=True)
    if rest[0] != "override":
        return None
    rest = rest[1:]
    sha = None
    if rest and rest[0] == "--sha":
        if len(rest) < 2 or not _SHA.fullmatch(rest[1].lower()):
            return Command("override", problem="--sha needs the head's full SHA (40 hex digits)")
        sha, rest = rest[1].lower(), rest[2:]
    reason = " ".join(rest)
    if not reason:
        return Command("override", sha=sha,
                       problem="an override needs a reason: /canary override [--sha SHA] REASON")
    return Command("override", sha=sha, reason=reason)


def find_command(body: str) -> Command | None:
    """The first command in a comment body (Markdown), or None (module docstring: what counts).

    Never raises: any text is accepted; a malformed override comes back with ``problem`` set.
    """
    for line in _lines(body):
        command = _parse(line.strip())
        if command is not None:
            return command
    return None


@dataclass
class CommentOutcome:
    """What comment handling did: ``ignored``, ``refused``, ``fired`` or ``overridden`` (with
    the result)."""

    action: str
    reason: str = ""
    result: CanaryResult | None = None


def refusal_header(user: str, head: str = "") -> str:
    """The header of the refusal comment answering ``user`` (about ``head``)."""
    login = markers.header_arg(user)
    return markers.header("refusal", login, head) if head else markers.header("refusal", login)


def _refusal_of(body: str, user: str) -> str | None:
    """The head a refusal comment of ours answers ``user`` about ("" when it names none), or
    None when ``body`` is not a refusal for ``user``."""
    head = markers.read_header(body)
    if head is None or head.kind != "refusal" or not head.args:
        return None
    if head.args[0] != markers.header_arg(user):
        return None
    return head.args[1] if len(head.args) > 1 else ""


def refuse(forge: Forge, number: int, *, login: str, user: str, head: str,
            text: str) -> None:
    """Post (or edit) the one refusal comment for ``user`` on this pull request.

    At most one comment per user and pull request: an earlier refusal is edited when the head
    moved, and left alone (nothing posted) when it already answers this head.
    """
    body = markers.compose(refusal_header(user, head), posted(text).strip())
    mine = [c for c in forge.list_comments(number) if c.author == login
            and _refusal_of(c.body, user) is not None]
    if not mine:
        forge.create_comment(number, body)
    elif _refusal_of(mine[-1].body, user) != head:
        forge.edit_comment(mine[-1].id, body)


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
        refuse(forge, number, login=login, user=user, head=pr.head_sha, text=prompter.render(
            "refusal.md.j2", user=sanitize(user, cell=True), permission=permission,
            command=word))
        return CommentOutcome("refused", f"{user} has {permission} access, not write")
    if command.problem:
        pr = forge.get_pull(number)
        refuse(forge, number, login=login, user=user, head=pr.head_sha,
                text=f"@{user}: `{word}` was not understood: {command.problem}. Nothing was done.")
        return CommentOutcome("refused", command.problem)
    if command.name == "override":
        try:
            if command.sha is None or not FULL_SHA.fullmatch(command.sha):
                head = forge.get_pull(number).head_sha
                raise OverrideRefused(
                    "an override names the head you reviewed by its full SHA; if that is "
                    f"{head[:12]}, comment "
                    + code(f"/canary override --sha {head} {command.reason}"))
            result = override_gate(forge, number=number, config=config, by=user,
                                   reason=command.reason, sha=command.sha)
        except OverrideRefused as exc:
            pr = forge.get_pull(number)
            refuse(forge, number, login=login, user=user, head=pr.head_sha,
                    text=f"@{user}: `{word}` was refused: {exc}. Nothing was done.")
            return CommentOutcome("refused", str(exc))
        return CommentOutcome("overridden", result=result)
    result = run_canary(forge, number=number, config=config, profile_name=profile_name,
                        fired_by=user, force=True, on_progress=on_progress)
    return CommentOutcome("fired", result=result)
