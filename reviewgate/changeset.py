"""A pull request as pure data: metadata, changed files and hunks parsed from a unified diff.

The parser reads ``git diff`` output (``diff --git`` headers, renames, binary files, ``/dev/null``
for added and deleted files) and plain unified diffs (``---``/``+++`` only). Format reference:
GNU diffutils manual, "Unified Format", and git-diff(1) "GENERATING PATCH TEXT WITH -P".
Imports: stdlib and pydantic only.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re

from pydantic import BaseModel, Field

__all__ = ["ChangeSet", "FileChange", "Hunk", "parse_unified_diff"]

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")
_GIT_HEADER = re.compile(r"^diff --git (?:a/)?(.+?) (?:b/)?(.+)$")


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
        """(changed lines, changed files), leaving out paths matching any ``exclude`` glob."""
        kept = [f for f in self.files if not any(_match(f.path, g) for g in exclude)]
        return sum(f.changed for f in kept), len(kept)


def _match(path: str, pattern: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(name, pattern)


def _strip_prefix(path: str) -> str | None:
    path = path.strip().split("\t", 1)[0]
    if path == "/dev/null":
        return None
    if path.startswith(("a/", "b/")):
        return path[2:]
    return path


def parse_unified_diff(text: str) -> list[FileChange]:
    """Parse a unified diff into :class:`FileChange` entries, in diff order.

    Lines outside any file section (a mail header, a commit message) are ignored. A hunk's lines
    are counted by its header lengths, so a removed line that starts with ``---`` is not taken for
    a file header.
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
        git = _GIT_HEADER.match(line)
        if git or (line.startswith("--- ") and i + 1 < len(lines)
                   and lines[i + 1].startswith("+++ ") and (current is None or current.hunks)):
            close()
            section = []
            current = FileChange(path=_strip_prefix(git.group(2)) if git else "")
            if git:
                current.old_path = _strip_prefix(git.group(1))
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
            current.path = line[len("rename to "):]
        elif line.startswith("rename from "):
            current.old_path = line[len("rename from "):]
        elif line.startswith("Binary files ") or line.startswith("GIT binary patch"):
            current.status = "binary"
        else:
            m = _HUNK.match(line)
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
    for f in files:
        if f.status == "modified" and f.old_path and f.old_path != f.path:
            f.status = "renamed"
    return files
