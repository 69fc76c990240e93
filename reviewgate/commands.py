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
    /canary override [--sha <7-40 hex digits>] <reason>

Pure: no network imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from markdown_it import MarkdownIt

__all__ = ["Command", "find_command"]

_SHA = re.compile(r"[0-9a-f]{7,40}")
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
            return Command("override", problem="--sha needs 7 to 40 hex digits of the head SHA")
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
