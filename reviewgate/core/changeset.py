"""A pull request as pure data: metadata, changed files and hunks parsed from a unified diff.

The parser reads ``git diff`` output (``diff --git`` headers, renames, binary files, ``/dev/null``
for added and deleted files) and plain unified diffs (``---``/``+++`` only). Format reference:
GNU diffutils manual, "Unified Format", and git-diff(1) "GENERATING PATCH TEXT WITH -P".
Imports: stdlib, pydantic and pathspec (gitignore-style globs).
"""

from __future__ import annotations

import functools
import hashlib
import re

import pathspec
from pydantic import BaseModel, Field

from .errors import InputError

__all__ = ["ChangeSet", "FileChange", "Hunk", "file_diff", "matches", "parse_unified_diff",
           "patch_section", "quote_path", "unquote_path"]

#: Every quantifier is possessive or followed by a character it cannot match, and the pattern is
#: anchored, so a header line is read once (linear time on any line, DESIGN.md section 9).
_HUNK = re.compile(r"^@@ -(\d++)(?:,(\d++))? \+(\d++)(?:,(\d++))? @@(.*+)$")
#: Digits allowed in a hunk header number (git never writes more; ``int`` refuses over 4,300).
MAX_HUNK_DIGITS = 12


class Hunk(BaseModel):
    """One ``@@`` hunk: old/new start line and length, and its lines (with their +/-/space)."""

    old_start: int
    old_len: int
    new_start: int
    new_len: int
    header: str = ""
    lines: list[str] = Field(default_factory=list)


class FileChange(BaseModel):
    """One changed file. ``status`` is added, deleted, renamed, modified or binary."""

    path: str
    old_path: str | None = None
    status: str = "modified"
    added: int = 0
    removed: int = 0
    hunks: list[Hunk] = Field(default_factory=list)
    text: str = ""

    @property
    def changed(self) -> int:
        """Added plus removed lines."""
        return self.added + self.removed

    @property
    def unreadable(self) -> bool:
        """True when no reviewer can see what changed: a binary file, or a file whose diff has
        no hunk although lines changed (a forge left its patch out, e.g. GitHub for large
        files)."""
        return self.status == "binary" or (not self.hunks and self.changed > 0)


class ChangeSet(BaseModel):
    """Everything known about the change under review.

    ``diff`` is the full unified diff text; ``files`` is parsed from it. ``head_sha`` and
    ``base_sha`` are set when known (forge or git input).
    """

    title: str = ""
    body: str = ""
    diff: str = ""
    files: list[FileChange] = Field(default_factory=list)
    base_sha: str | None = None
    head_sha: str | None = None
    source: str = ""

    @property
    def added(self) -> int:
        """Total added lines."""
        return sum(f.added for f in self.files)

    @property
    def removed(self) -> int:
        """Total removed lines."""
        return sum(f.removed for f in self.files)

    def digest(self) -> str:
        """sha256 of the title, body and diff: identifies the input of a run."""
        h = hashlib.sha256()
        for part in (self.title, self.body, self.diff):
            h.update(part.encode("utf-8", "replace"))
            h.update(b"\0")
        return "sha256:" + h.hexdigest()

    def size(self, exclude: list[str]) -> tuple[int, int]:
        """(changed lines, changed files), leaving out paths matching any ``exclude``
        gitignore-style pattern."""
        kept = [f for f in self.files if not matches(f.path, exclude)]
        return sum(f.changed for f in kept), len(kept)


@functools.lru_cache(maxsize=64)
def _spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


def matches(path: str, patterns: list[str] | tuple[str, ...]) -> bool:
    """True when ``path`` matches any gitignore-style pattern (``**`` supported; a pattern
    without a slash matches at any depth). Reference: gitignore(5), via the pathspec library."""
    return bool(patterns) and _spec(tuple(patterns)).match_file(path)


_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote_path(text: str) -> str:
    """Decode a path git wrote in C-quoted form (``"b/donn\\303\\251es.py"``: octal bytes of
    UTF-8, ``\\t``, ``\\"``...; git-config(1) ``core.quotePath``). Unquoted text is returned
    as it is.

    Raises:
        InputError: a backslash escape git never writes (``\\8``, ``\\189``, a lone ``\\``
            at the end, an unknown letter).
    """
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        return text
    body, out, i = text[1:-1], bytearray(), 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            octal = body[i + 1:i + 4]
            if len(octal) == 3 and all(c in "01234567" for c in octal):
                out.append(int(octal, 8) & 0xFF)
                i += 4
                continue
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
        if ch == "\\":
            raise InputError(f"malformed quoted path in the diff (git-config(1) core.quotePath "
                             f"escapes are \\NNN octal or one of {''.join(sorted(_ESCAPES))}): "
                             f"{text[:200]!r}")
        out.extend(ch.encode("utf-8", "surrogateescape"))
        i += 1
    return out.decode("utf-8", "replace")


_QUOTE_BACK = {v: k for k, v in _ESCAPES.items()}


def quote_path(path: str) -> str:
    """``path`` as git writes it in a diff header: C-quoted (``"b/a\\tb.py"``) when it holds a
    control character, a double quote or a backslash (git-config(1) ``core.quotePath``, with
    non-ASCII kept as UTF-8); as it is otherwise. :func:`unquote_path` reverses it."""
    if not any(ord(ch) < 0x20 or ch in '"\\' or ord(ch) == 0x7F for ch in path):
        return path
    out = []
    for byte in path.encode("utf-8", "surrogateescape"):
        if byte in _QUOTE_BACK:
            out.append("\\" + _QUOTE_BACK[byte])
        elif byte < 0x20 or byte == 0x7F:
            out.append(f"\\{byte:03o}")
        else:
            out.append(chr(byte) if byte < 0x80 else f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def patch_section(path: str, patch: str, *, status: str = "modified",
                  old_path: str | None = None) -> str:
    """A ``diff --git`` section for one file from its hunks alone (the ``patch`` field of the
    GitHub files API, which leaves out the headers); added and removed files get
    ``/dev/null`` on the missing side. Paths are quoted as git quotes them."""
    old = old_path or path
    a, b = quote_path(f"a/{old}"), quote_path(f"b/{path}")
    minus = "/dev/null" if status == "added" else a
    plus = "/dev/null" if status in ("removed", "deleted") else b
    head = f"diff --git {a} {b}\n"
    if old != path:
        head += f"rename from {quote_path(old)}\nrename to {quote_path(path)}\n"
    return f"{head}--- {minus}\n+++ {plus}\n{patch.rstrip(chr(10))}\n"


def _strip_prefix(path: str) -> str | None:
    path = path.strip()
    path = unquote_path(path) if path.startswith('"') else path.split("\t", 1)[0]
    if path == "/dev/null":
        return None
    if path.startswith(("a/", "b/")):
        return path[2:]
    return path


#: Possessive: a quoted path ends only at an unescaped quote, a bare one only at a blank, so giving
#: characters back never helps and the line is read once.
_QUOTED_PAIR = re.compile(r'^("(?:[^"\\]|\\.)*+"|\S++) ("(?:[^"\\]|\\.)*+"|\S++)$')


def _git_paths(rest: str) -> tuple[str | None, str | None]:
    """Old and new path of a ``diff --git`` header (quoted or not, spaces allowed)."""
    m = _QUOTED_PAIR.match(rest)
    if m and (rest.startswith('"') or rest.endswith('"')):
        return _strip_prefix(m.group(1)), _strip_prefix(m.group(2))
    n = len(rest)
    half = (n - 1) // 2
    if n % 2 == 1 and rest[half] == " " and rest[:half][2:] == rest[half + 1:][2:]:
        return _strip_prefix(rest[:half]), _strip_prefix(rest[half + 1:])
    if " b/" in rest:
        old, new = rest.split(" b/", 1)
        return _strip_prefix(old), new
    return (_strip_prefix(m.group(1)), _strip_prefix(m.group(2))) if m else (None, None)


def parse_unified_diff(text: str) -> list[FileChange]:
    """Parse a unified diff into :class:`FileChange` entries, in diff order.

    Lines outside any file section (a mail header, a commit message) are ignored, and so is a
    section that names no file. A hunk's lines are counted by its header lengths, so a removed
    line that starts with ``---`` is not taken for a file header.

    Time is linear in ``len(text)`` (every pattern is anchored and possessive).

    Raises:
        InputError: a quoted path with an escape git never writes (:func:`unquote_path`), or a
            hunk header number of more than :data:`MAX_HUNK_DIGITS` digits.
    """
    files: list[FileChange] = []
    current: FileChange | None = None
    hunk: Hunk | None = None
    old_left = new_left = 0
    section: list[str] = []

    def close() -> None:
        if current is not None:
            current.text = "".join(section)

    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        raw = lines[i]
        line = raw.rstrip("\n").rstrip("\r")
        if hunk is not None and (old_left > 0 or new_left > 0):
            section.append(raw)
            tag = line[:1]
            if tag == "+":
                current.added += 1  # type: ignore[union-attr]
                new_left -= 1
            elif tag == "-":
                current.removed += 1  # type: ignore[union-attr]
                old_left -= 1
            elif tag == "\\":
                pass  # "\ No newline at end of file"
            else:
                old_left -= 1
                new_left -= 1
            hunk.lines.append(line)
            i += 1
            continue
        hunk = None
        git = line.startswith("diff --git ")
        if git or (line.startswith("--- ") and i + 1 < len(lines)
                   and lines[i + 1].startswith("+++ ") and (current is None or current.hunks)):
            close()
            section = []
            old_path, new_path = _git_paths(line[len("diff --git "):]) if git else (None, "")
            current = FileChange(path=new_path or old_path or "")
            if git:
                current.old_path = old_path
            files.append(current)
        if current is None:
            i += 1
            continue
        section.append(raw)
        if line.startswith("--- "):
            old = _strip_prefix(line[4:])
            current.old_path = old
            if old is None:
                current.status = "added"
        elif line.startswith("+++ "):
            new = _strip_prefix(line[4:])
            if new is None:
                current.status = "deleted"
                current.path = current.old_path or current.path
            else:
                current.path = new
        elif line.startswith("new file mode"):
            current.status = "added"
        elif line.startswith("deleted file mode"):
            current.status = "deleted"
        elif line.startswith("rename to "):
            current.status = "renamed"
            current.path = unquote_path(line[len("rename to "):])
        elif line.startswith("rename from "):
            current.old_path = unquote_path(line[len("rename from "):])
        elif line.startswith("Binary files ") or line.startswith("GIT binary patch"):
            current.status = "binary"
        else:
            m = _HUNK.match(line)
            if m and any(len(n or "") > MAX_HUNK_DIGITS for n in m.group(1, 2, 3, 4)):
                raise InputError(f"hunk header with a number of more than {MAX_HUNK_DIGITS} "
                                 f"digits in the diff: {line[:80]!r}")
            if m:
                old_len = int(m.group(2)) if m.group(2) is not None else 1
                new_len = int(m.group(4)) if m.group(4) is not None else 1
                hunk = Hunk(old_start=int(m.group(1)), old_len=old_len,
                            new_start=int(m.group(3)), new_len=new_len,
                            header=m.group(5).strip())
                current.hunks.append(hunk)
                old_left, new_left = old_len, new_len
                if old_len == 0 and new_len == 0:
                    hunk = None
        i += 1
    close()
    return [f for f in files if f.path]  # "--- /dev/null" on both sides names no file


def file_diff(path: str, old: str | None, new: str | None) -> str:
    """One file's section of a unified diff as ``git diff`` writes it (``diff --git`` header,
    ``new file mode``/``deleted file mode`` when a side is None, 3 lines of context), built with
    :func:`difflib.unified_diff` from the two texts; empty when they are equal. Paths are
    C-quoted as git quotes them."""
    import difflib

    if old == new:
        return ""
    a = quote_path(f"a/{path}")
    b = quote_path(f"b/{path}")
    head = [f"diff --git {a} {b}\n"]
    if old is None:
        head.append("new file mode 100644\n")
    elif new is None:
        head.append("deleted file mode 100644\n")
    lines = list(difflib.unified_diff((old or "").splitlines(), (new or "").splitlines(),
                                      a if old is not None else "/dev/null",
                                      b if new is not None else "/dev/null", lineterm=""))
    return "".join(head) + "".join(line + "\n" for line in lines)
