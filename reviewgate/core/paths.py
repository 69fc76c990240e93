"""Repository paths from a pull request, checked before anything reads them.

A changed file's name is chosen by the pull request's author. Before it is used to read through
a forge API or git, it must be a *repository path*: relative, normalized, one file inside the
tree. DESIGN.md section 9: "Paths read through a forge API are validated (relative, normalized,
no ``..``) and percent-encoded per segment before any request." HTTP clients resolve dot
segments (RFC 3986 section 5.2.4, "Remove Dot Segments"), so ``../../user`` appended to
``/repos/o/r/raw/`` would otherwise become ``/user``, read with the bot's token.

Imports: stdlib only.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from .errors import InputError

__all__ = ["UnsafePath", "check_repo_path", "quote_repo_path"]

#: Longest path accepted, in characters (git allows longer; no forge serves one).
MAX_PATH_CHARS = 4096


class UnsafePath(InputError):
    """A path that is not a normalized relative repository path; ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(f"not a repository path: {reason}")
        self.reason = reason


def check_repo_path(path: str) -> str:
    """Return ``path`` when it names one file inside the repository, else raise.

    Rules: not empty, at most :data:`MAX_PATH_CHARS` characters; no leading ``/``; no
    backslash; no control or format character (Unicode categories Cc, Cf: NUL, newline, bidi
    controls); no empty segment (``a//b``, a trailing ``/``); no ``.`` or ``..`` segment.

    Raises:
        UnsafePath: the reason names the first rule broken (never the path itself, which
            may be long or hostile).
    """
    if not isinstance(path, str) or not path:
        raise UnsafePath("empty")
    if len(path) > MAX_PATH_CHARS:
        raise UnsafePath(f"longer than {MAX_PATH_CHARS} characters")
    if path.startswith("/"):
        raise UnsafePath("absolute (leading /)")
    if "\\" in path:
        raise UnsafePath("contains a backslash")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in path):
        raise UnsafePath("contains a control character")
    for segment in path.split("/"):
        if segment == "":
            raise UnsafePath("empty segment")
        if segment in (".", ".."):
            raise UnsafePath(f"'{segment}' segment")
    return path


def quote_repo_path(path: str) -> str:
    """``path`` checked (:func:`check_repo_path`) and percent-encoded segment by segment
    (RFC 3986: every character but unreserved ones), joined by ``/``, so no client or server
    can read a segment as ``..`` or a query.

    Raises:
        UnsafePath: as :func:`check_repo_path`.
    """
    return "/".join(quote(segment, safe="") for segment in check_repo_path(path).split("/"))
