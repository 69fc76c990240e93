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
from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern
from pydantic import BaseModel, Field

from .errors import InputError

__all__ = ["ChangeSet", "FileChange", "Hunk", "decode_diff", "file_diff", "file_keys",
           "git_lines", "matches", "matches_file", "parse_unified_diff", "patch_section",
           "quote_path", "unquote_path", "visible_breaks"]

#: Characters some languages or editors take for a line break that git does not: a lone
#: ``\r`` (Python, old Mac), vertical tab, form feed, the file/group/record separators, NEL,
#: U+2028 and U+2029. Shown to reviewers as escapes (:func:`visible_breaks`).
_BREAKS = re.compile("\r(?!\n)|[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")

#: Lone surrogates: the bytes of a diff that were not UTF-8 (:func:`decode_diff`).
_SURROGATE = re.compile("[\udc80-\udcff]")

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
        return cls(diff=_clean(diff), files=parse_unified_diff(diff), **meta)  # type: ignore[arg-type]

    def size(self, exclude: list[str]) -> tuple[int, int]:
        """(changed lines, changed files), leaving out paths matching any ``exclude``
        gitignore-style pattern."""
        kept = [f for f in self.files if not matches(f.path, exclude)]
        return sum(f.changed for f in kept), len(kept)


@functools.lru_cache(maxsize=64)
def _spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


@functools.lru_cache(maxsize=64)
def _file_rules(patterns: tuple[str, ...]) -> list[tuple[re.Pattern[str], bool, bool]]:
    rules = []
    for pattern in patterns:
        regex, include = GitIgnoreSpecPattern.pattern_to_regex(pattern)
        if regex is not None and include is not None:
            rules.append((re.compile(regex), include, pattern.rstrip().endswith("/")))
    return rules


def matches_file(path: str, patterns: list[str] | tuple[str, ...]) -> bool:
    """Like :func:`matches`, for the owners' ``ignore``: gitignore-style globs, the last
    matching pattern deciding (``!`` re-includes), except that a pattern not ending in ``/``
    names files only, never a directory: ``*.md`` does not take in ``src/util.md/index.js``
    (which a ``require('./util.md')`` loads). Directories are ignored with ``docs/`` or
    ``docs/**``."""
    result = False
    for rx, include, for_dirs in _file_rules(tuple(patterns)):
        m = rx.match(path)
        if m is not None and (for_dirs or m.groupdict().get("ps_d") is None):
            result = include
    return result


def decode_diff(data: bytes) -> str:
    """A unified diff's bytes as text: UTF-8, with every byte that is not UTF-8 kept as a lone
    surrogate (``surrogateescape``), so :func:`parse_unified_diff` can tell which files were
    undecodable. The text must go through :func:`parse_unified_diff` (or
    :func:`ChangeSet.from_diff`) before a model or a comment sees it."""
    return data.decode("utf-8", "surrogateescape")


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


def visible_breaks(text: str) -> str:
    """``text`` with every line-break look-alike git does not split at written as its escape
    (``\\r``, ``\\x0c``, ``\\u2028``), so a reviewer sees one line where git has one, and
    a ``# comment<CR>code`` line cannot pass for a comment."""
    return _BREAKS.sub(lambda m: repr(m.group(0))[1:-1], text) if _BREAKS.search(text) else text


def _clean(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text)


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
            if _SURROGATE.search(current.text):  # bytes that were not UTF-8: shown as U+FFFD
                current.undecodable = True
                current.text = _clean(current.text)
                for h in current.hunks:
                    h.lines = [_clean(line) for line in h.lines]

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
        f.path, f.old_path = _clean(f.path), (_clean(f.old_path) if f.old_path else f.old_path)
    return [f for f in files if f.path]  # "--- /dev/null" on both sides names no file


def git_lines(text: str) -> list[str]:
    """``text`` split as git splits it: at ``\n`` only, each line keeping its ``\n``. A form
    feed, a lone ``\r``, ``\x1c``-``\x1e``, ``\x85`` or U+2028/U+2029 stays inside its line
    (``str.splitlines`` would break there, and lines of the diff would vanish from every hunk
    count)."""
    parts = text.split("\n")
    out = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def _text_lines(text: str) -> list[str]:
    """A file's lines as git counts them, without their ``\n``."""
    return [line.removesuffix("\n") for line in git_lines(text)]


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
    lines = list(difflib.unified_diff(_text_lines(old or ""), _text_lines(new or ""),
                                      a if old is not None else "/dev/null",
                                      b if new is not None else "/dev/null", lineterm=""))
    return "".join(head) + "".join(line + "\n" for line in lines)
