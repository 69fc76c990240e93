"""A pull request as pure data: metadata, changed files and hunks parsed from a unified diff.

The parser reads ``git diff`` output (``diff --git`` headers, renames, binary files, ``/dev/null``
for added and deleted files) and plain unified diffs (``---``/``+++`` only). Format reference:
GNU diffutils manual, "Unified Format", and git-diff(1) "GENERATING PATCH TEXT WITH -P".
git's text conventions (line splitting, quoted paths, the diff writers) are
:mod:`.gittext`, the globs :mod:`.globs`; both are re-exported here. Imports: stdlib and pydantic.
"""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, Field

from .errors import InputError
from .globs import matches, matches_file
from .gittext import (_SURROGATE, clean_text, decode_diff, file_diff, git_lines, patch_section,
                      quote_path, unquote_path, visible_breaks)

__all__ = ["ChangeSet", "FileChange", "Hunk", "decode_diff", "file_diff", "file_keys",
           "git_lines", "matches", "matches_file", "parse_unified_diff", "patch_section",
           "quote_path", "unquote_path", "visible_breaks"]

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
    """One changed file. ``status`` is added, deleted, renamed, modified or binary.

    ``undecodable``: its section of the diff held bytes that are not UTF-8 (replaced by U+FFFD
    in ``text`` and ``hunks``, so what a reviewer would see is not the file). ``missing``: why
    the forge gave no patch for it (``without a patch``, ``over a file limit``), when known.
    ``old_mode``/``mode``: git's file modes when the diff names them (``100644``, ``100755``,
    ``120000`` a symlink, ``160000`` a submodule). ``mismatch``: the forge's file list counts
    other lines for it than its diff holds (what the reviewers saw is not what changed).
    ``old_blob``/``new_blob``: the abbreviated blob ids of git's ``index OLD..NEW`` line (what
    binds the section to the commits it was made from), when the diff has one.
    """

    path: str
    old_path: str | None = None
    status: str = "modified"
    added: int = 0
    removed: int = 0
    hunks: list[Hunk] = Field(default_factory=list)
    text: str = ""
    undecodable: bool = False
    missing: str = ""
    old_mode: str = ""
    mode: str = ""
    mismatch: bool = False
    old_blob: str = ""
    new_blob: str = ""

    @property
    def changed(self) -> int:
        """Added plus removed lines."""
        return self.added + self.removed

    @property
    def unreadable(self) -> bool:
        """True when no reviewer can see what changed: a binary or undecodable file, or a file
        whose diff has no hunk although lines changed (a forge left its patch out, e.g. GitHub
        for large files, or past its file limit)."""
        return (self.status == "binary" or self.undecodable or bool(self.missing)
                or (not self.hunks and self.changed > 0))


class ChangeSet(BaseModel):
    """Everything known about the change under review.

    ``diff`` is the full unified diff text; ``files`` is parsed from it. ``head_sha`` and
    ``base_sha`` are set when known (forge or git input): ``base_sha`` is the base the norms are
    read at (on a forge the base branch's tip), ``merge_base`` the commit the diff starts from
    (on a forge the pull request's merge base; None: ``base_sha``, as for ``--git``).
    """

    title: str = ""
    body: str = ""
    diff: str = ""
    files: list[FileChange] = Field(default_factory=list)
    base_sha: str | None = None
    head_sha: str | None = None
    merge_base: str | None = None
    source: str = ""

    @property
    def diff_base(self) -> str | None:
        """The commit the diff starts from: ``merge_base``, else ``base_sha``."""
        return self.merge_base or self.base_sha

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

    @classmethod
    def from_diff(cls, diff: str, **meta: object) -> ChangeSet:
        """A change set of ``diff`` (text from :func:`decode_diff`, or any str): the files
        parsed (undecodable ones marked), the diff text with undecodable bytes as U+FFFD;
        ``meta`` sets the other fields (title, body, SHAs, source).

        Raises:
            InputError: as :func:`parse_unified_diff`.
        """
        return cls(diff=clean_text(diff), files=parse_unified_diff(diff), **meta)  # type: ignore[arg-type]

    def size(self, exclude: list[str]) -> tuple[int, int]:
        """(changed lines, changed files), leaving out paths matching any ``exclude``
        gitignore-style pattern."""
        kept = [f for f in self.files if not matches(f.path, exclude)]
        return sum(f.changed for f in kept), len(kept)


def file_keys(files: list[FileChange]) -> list[str]:
    """One key per file of a change set, in order: its path, or for the second and later
    sections of one path (git writes a type change as a deletion and an addition of the same
    path) the path, a NUL and the section's number. What packs and the coverage ledger count
    by, so two sections never share a count."""
    seen: dict[str, int] = {}
    keys = []
    for f in files:
        n = seen[f.path] = seen.get(f.path, 0) + 1
        keys.append(f.path if n == 1 else f"{f.path}\0{n}")
    return keys


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
            if _SURROGATE.search(current.text):  # bytes that were not UTF-8: shown as U+FFFD
                current.undecodable = True
                current.text = clean_text(current.text)
                for h in current.hunks:
                    h.lines = [clean_text(line) for line in h.lines]

    lines = git_lines(text)
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
            current.mode = line[len("new file mode"):].strip()[:6]
        elif line.startswith("deleted file mode"):
            current.status = "deleted"
            current.old_mode = line[len("deleted file mode"):].strip()[:6]
        elif line.startswith("old mode "):
            current.old_mode = line[len("old mode "):].strip()[:6]
        elif line.startswith("new mode "):
            current.mode = line[len("new mode "):].strip()[:6]
        elif line.startswith("index ") and ".." in line:
            blobs, _, mode = line[len("index "):].partition(" ")
            old_blob, _, new_blob = blobs.partition("..")
            current.old_blob, current.new_blob = old_blob[:64].lower(), new_blob[:64].lower()
            if mode and not current.mode:
                current.mode = current.old_mode = mode[:6]
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
    for f in files:  # names and paths never carry the undecodable bytes further
        f.path = clean_text(f.path)
        f.old_path = clean_text(f.old_path) if f.old_path else f.old_path
    return [f for f in files if f.path]  # "--- /dev/null" on both sides names no file

