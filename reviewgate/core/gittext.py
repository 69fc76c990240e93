"""git's text conventions, as the diff parser and the diff writers need them: lines split at
``\n`` only, C-quoted paths (git-config(1) ``core.quotePath``), bytes that are not UTF-8 kept as
lone surrogates, line-break look-alikes shown as escapes, and the two diff writers (a section
from a forge's per-file patch; a section from two texts). References: git-diff(1) "GENERATING
PATCH TEXT WITH -P"; git-config(1) ``core.quotePath``. Stdlib only.
"""

from __future__ import annotations

import re

from .errors import InputError

__all__ = ["clean_text", "decode_diff", "file_diff", "git_lines", "patch_section", "quote_path",
           "unquote_path", "visible_breaks"]

#: Characters some languages or editors take for a line break that git does not: a lone
#: ``\r`` (Python, old Mac), vertical tab, form feed, the file/group/record separators, NEL,
#: U+2028 and U+2029. Shown to reviewers as escapes (:func:`visible_breaks`).
_BREAKS = re.compile("\r(?!\n)|[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")

#: Lone surrogates: the bytes of a diff that were not UTF-8 (:func:`decode_diff`).
_SURROGATE = re.compile("[\udc80-\udcff]")

def decode_diff(data: bytes) -> str:
    """A unified diff's bytes as text: UTF-8, with every byte that is not UTF-8 kept as a lone
    surrogate (``surrogateescape``), so :func:`parse_unified_diff` can tell which files were
    undecodable. The text must go through :func:`parse_unified_diff` (or
    :func:`ChangeSet.from_diff`) before a model or a comment sees it."""
    return data.decode("utf-8", "surrogateescape")

def visible_breaks(text: str) -> str:
    """``text`` with every line-break look-alike git does not split at written as its escape
    (``\\r``, ``\\x0c``, ``\\u2028``), so a reviewer sees one line where git has one, and
    a ``# comment<CR>code`` line cannot pass for a comment."""
    return _BREAKS.sub(lambda m: repr(m.group(0))[1:-1], text) if _BREAKS.search(text) else text

def clean_text(text: str) -> str:
    """``text`` with every lone surrogate (a byte that was not UTF-8) as U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)

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
    while (slash := body.find("\\", i)) >= 0:  # the text between escapes is copied whole
        out += body[i:slash].encode("utf-8", "surrogateescape")
        octal = body[slash + 1:slash + 4]
        if len(octal) == 3 and all(c in "01234567" for c in octal):
            out.append(int(octal, 8) & 0xFF)
            i = slash + 4
            continue
        nxt = body[slash + 1:slash + 2]
        if nxt and nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i = slash + 2
            continue
        raise InputError(f"malformed quoted path in the diff (git-config(1) core.quotePath "
                         f"escapes are \\NNN octal or one of {''.join(sorted(_ESCAPES))}): "
                         f"{text[:200]!r}")
    out += body[i:].encode("utf-8", "surrogateescape")
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
