"""The one parser of a finding's location (``path:line``), for consolidation, line comments and
round comparison.

A model writes a location in many ways: ``src/a.py:12``, ``src/a.py:L12``, ``src/a.py#L12``,
```src/a.py`:12``, ``src/a.py line 12``, ``src/a.py:12-20`` (a range gives its first line),
``src/a.py:12: comment``, or a path alone. A ``a/`` or ``b/`` diff prefix and a leading ``./`` are
dropped. The text is a model's: it is matched against one anchored pattern and never used as a
path to read anything. Stdlib only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Location", "parse_location"]

#: Anchored; the path ends at the first character a path cannot hold (the lazy path meets each
#: separator once) and every later run is possessive, so a text is read once (linear time on any
#: text, DESIGN.md section 9). A line number has at most 9 digits (``int`` refuses over 4,300):
#: a longer one names no line.
_LOCATION = re.compile(
    r"^\s*+`?(?P<path>[^\s:#`]+?)`?"
    r"(?:(?::L?|#L|\s++lines?\s++)(?P<line>\d{1,9}+)(?:\s*+[-–]\s*+L?\d++)?\b"
    r"|(?=$|[\s:,;)`]))",
    re.IGNORECASE)


@dataclass(frozen=True)
class Location:
    """A location: the path as written (prefix dropped) and the line, when one is named."""

    path: str
    line: int | None = None


def parse_location(text: str | None) -> Location | None:
    """The location at the start of ``text``, or None when it does not start with a path-like
    word (one holding a ``/`` or a ``.``). Time is linear in ``len(text)``."""
    m = _LOCATION.match(text or "")
    if not m:
        return None
    path = m.group("path")
    for prefix in ("a/", "b/", "./"):
        if path.startswith(prefix):
            path = path[len(prefix):]
            break
    if not path or ("/" not in path and "." not in path):
        return None
    return Location(path=path, line=int(m.group("line")) if m.group("line") else None)
