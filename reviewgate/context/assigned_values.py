"""Secret values assigned to secret-looking names (``API_KEY=...``, ``password: "..."``), found
by a scan that reads each character of the text a bounded number of times.

A name is a run of ``[A-Za-z0-9_.-]`` holding one of :data:`KEYWORDS` (``client_secret``,
``GITHUB_TOKEN``, ``db.password``), followed by an optional closing quote (a quoted key, as in
JSON), an operator (``:``, ``=``, ``=>``, ``:=``) and the value on the same line. The value is
redacted only when it is a literal:

* a quoted string (``"..."``, ``'...'``, ```...```) closed on the same line whose content looks
  like a secret (:func:`looks_secret`: at least 12 characters, no whitespace, letters and digits,
  at least 3.2 bits of Shannon entropy per character, not a placeholder such as ``${X}``);
* a bare token that looks like a key (a ``.env``, YAML or INI value such as
  ``PASSWORD=hunter2xY9ab0Q77``): :func:`looks_secret`, no ``.``, ``[``, ``(``, ``{``, ``<``,
  ``>`` or ``$`` in it, and at least 3 changes between letters and digits, so an identifier
  (``DEFAULT_TOKEN_V2``), an attribute access (``self.cert[2]``, ``os.environ.get``), a
  subscript or a call (``Field(...)``) is code and stays as written.

Why a scan and not one regular expression: a pattern such as
``[A-Z0-9_.-]*(?:TOKEN|...)[A-Z0-9_.-]*`` backtracks over every way to place the keyword in a
run (``token.`` x 3,000 on one line took minutes), and even a linear pattern searched from every
start position rescans a long run once per start. Here each keyword occurrence is found with
:meth:`str.find`, the name run around it is read once, whatever number of keywords it holds, and
each value is read once. Stdlib only.
"""

from __future__ import annotations

import math
import re
from collections import Counter

__all__ = ["KEYWORDS", "ascii_lower", "assigned_edits", "entropy", "find_all", "looks_key",
           "looks_secret"]

#: Lower-case parts of the names whose values are looked at.
KEYWORDS = ("secret", "token", "passw", "pwd", "apikey", "api_key", "accesskey", "access_key",
            "privatekey", "private_key", "auth")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
#: The rest of a name run from a position inside it (possessive: never gives characters back).
_NAME_REST = re.compile(r"[A-Za-z0-9_.-]*+")
#: After a name: a closing quote of a quoted key, blanks, the operator (longest first), blanks.
_OPERATOR = re.compile(r"['\"]?[^\S\n]*+(?::=|=>|:|=)[^\S\n]*+")
#: A bare value: up to whitespace, a quote, a comma, a semicolon or a closing parenthesis.
_BARE = re.compile(r"[^\s'\"`,;)]*+")
_QUOTES = "'\"`"
#: Characters that make a bare value code: attribute access, subscript, call, template, arrow.
_CODE_CHARS = frozenset(".[({<>$")
_MIN_LENGTH = 12


def find_all(text: str, literal: str):
    """Every index of ``literal`` in ``text``, in increasing order (:meth:`str.find`: no regex
    pass over the text). Yields ints."""
    idx = text.find(literal)
    while idx >= 0:
        yield idx
        idx = text.find(literal, idx + 1)


def ascii_lower(text: str) -> str:
    """``text`` with ASCII letters lowered and nothing else changed, so indexes in the result are
    indexes in ``text`` (:meth:`str.lower` may change the length: ``"İ".lower()`` has 2
    characters)."""
    return text.lower() if text.isascii() else text.translate(_LOWER)


def entropy(value: str) -> float:
    """Shannon entropy of ``value`` in bits per character (0.0 for an empty string)."""
    n = len(value)
    if not n:
        return 0.0
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def looks_secret(value: str) -> bool:
    """True for a value that may be a secret: at least 12 characters, letters and digits, at
    least 3.2 bits of entropy per character, not a call or a placeholder (``$X``, ``{x}``,
    ``<token>``, ``os.`` / ``process.`` / ``env`` lookups)."""
    if len(value) < _MIN_LENGTH or "(" in value:
        return False
    if value.startswith(("$", "{", "<", "os.", "process.", "env")):
        return False
    has_alpha = any(ch.isalpha() for ch in value)
    has_digit = any(ch.isdigit() for ch in value)
    return has_alpha and has_digit and entropy(value) >= 3.2


def looks_key(value: str) -> bool:
    """True for a bare (unquoted) value that reads as a key rather than code: it looks secret
    (:func:`looks_secret`), holds none of ``.[({<>$`` and changes between a letter and a digit
    at least 3 times (``hunter2xY9ab0Q77``: 6; ``DEFAULT_TOKEN_V2``: 1)."""
    if not looks_secret(value) or not _CODE_CHARS.isdisjoint(value):
        return False
    changes = 0
    for a, b in zip(value, value[1:], strict=False):
        if (a.isalpha() and b.isdigit()) or (a.isdigit() and b.isalpha()):
            changes += 1
    return changes >= 3


def _keyword_positions(low: str) -> list[int]:
    """Start index of every keyword occurrence in ``low`` (ASCII-lowered text), sorted."""
    found: list[int] = []
    for word in KEYWORDS:
        found.extend(find_all(low, word))
    found.sort()
    return found


def _value(text: str, start: int, line_end: int) -> tuple[int, int, bool]:
    """The value that begins at ``start``: (start, end, whether it is a secret literal). A
    quoted value spans its content (quotes left out; end == start when it is not closed on the
    line); a bare value spans its token."""
    quote = text[start:start + 1]
    if quote and quote in _QUOTES:
        close = text.find(quote, start + 1, line_end)
        if close < 0:
            return start, start, False
        content = text[start + 1:close]
        secret = ("[REDACTED" not in content and not any(ch.isspace() for ch in content)
                  and looks_secret(content))
        return start + 1, close, secret
    end = _BARE.match(text, start, line_end).end()  # type: ignore[union-attr]
    value = text[start:end]
    return start, end, "[REDACTED" not in value and looks_key(value)


def assigned_edits(text: str) -> list[tuple[int, int, str]]:
    """Where ``text`` assigns a literal secret to a secret-looking name (module docstring).

    Returns:
        (start, end, ``"[REDACTED:assigned]"``) for each value, sorted and non-overlapping;
        indexes are character offsets into ``text``. Time is linear in ``len(text)``: a name run
        is read once whatever number of keywords it holds, and a name inside a bare value that
        is not a key is part of that value, not read again (``a=token=x`` is one token).
    """
    low = ascii_lower(text)
    edits: list[tuple[int, int, str]] = []
    scanned = 0  # every keyword before this index lies in a name run or a bare value read
    line_end = -1
    for idx in _keyword_positions(low):
        if idx < scanned:
            continue
        name_end = _NAME_REST.match(text, idx).end()  # type: ignore[union-attr]
        scanned = name_end
        if name_end > line_end:
            found = text.find("\n", name_end)
            line_end = len(text) if found < 0 else found
        op = _OPERATOR.match(text, name_end, line_end)
        if not op:
            continue
        start, end, secret = _value(text, op.end(), line_end)
        if secret:
            edits.append((start, end, "[REDACTED:assigned]"))
        if secret or text[op.end():op.end() + 1] not in _QUOTES:
            scanned = max(scanned, end)
    return edits
