"""Repository context around the hunks: the enclosing function or class, or lines each side.

Given a changed file's post-change text (read at the head SHA) and its hunks, :func:`excerpt`
returns the line ranges a senior reviewer would open: for each hunk, the nearest enclosing
definition (``def``/``class`` and the common function or type openers of C-like languages,
found by indentation) when it spans at most :data:`MAX_ENCLOSING_LINES` lines, else ``around``
lines each side. Ranges are merged; lines the diff already shows (the hunk's new side) are
elided with a pointer, so the reviewer gets only what the diff does not show.

Also the priority classes used to pack the context (:func:`priority`): source first, then
tests, then docs and everything else; lockfiles and generated files never get context.
Pure functions; no network imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.changeset import FileChange

__all__ = ["Excerpt", "MAX_ENCLOSING_LINES", "excerpt", "priority", "render_numbered"]

#: An enclosing definition longer than this (lines) is not shown whole: ``around`` lines are.
MAX_ENCLOSING_LINES = 160
#: How far up (lines) to look for the enclosing definition.
MAX_LOOKBACK = 400
#: The modifiers (``public static``) are an atomic group and the runs after them possessive: the
#: type run also matches modifier words, so ``public `` x 10,000 once backtracked through every
#: split between the two (quadratic in the line). Linear time on any line (DESIGN.md section 9).
_DEFINITION = re.compile(
    r"^\s*+(?:(?:export\s++)?(?:default\s++)?(?:async\s++)?(?:def|class|function|func|fn|"
    r"impl|struct|enum|trait|interface|module|namespace|type)\b|"
    r"(?>(?:pub(?:\([^)]*+\))?\s++|public\s++|private\s++|protected\s++|static\s++|final\s++|"
    r"abstract\s++|override\s++|virtual\s++|inline\s++|const\s++|unsafe\s++)+)"
    r"[\w<>\[\],\s*&:]*+\(|"
    r"(?:const|let|var)\s++\w++\s*+=\s*+(?:async\s*+)?(?:function|\([^)]*+\)\s*+=>))")
_TESTS = re.compile(r"(^|/)(tests?|spec|__tests__|testing)/|(^|/)test_[^/]*$|_test\.\w+$|"
                    r"\.(test|spec)\.\w+$|(^|/)conftest\.py$")
_DOCS = re.compile(r"(^|/)(docs?|documentation)/|\.(md|rst|txt|adoc)$|(^|/)(README|CHANGELOG|"
                   r"HISTORY|AUTHORS|LICENSE|NOTICE)[^/]*$", re.IGNORECASE)
_SOURCE = re.compile(r"\.(py|pyi|js|jsx|ts|tsx|mjs|cjs|go|rs|java|kt|kts|scala|rb|php|c|h|cc|"
                     r"cpp|hpp|cxx|cs|swift|m|mm|sh|bash|sql|lua|ex|exs|erl|hs|ml|clj|dart|r|"
                     r"jl|pl|vue|svelte|zig|nim)$", re.IGNORECASE)


def priority(path: str) -> int:
    """Packing priority of a changed file: 0 source, 1 tests, 2 docs, 3 anything else
    (configuration, data). Lower goes first."""
    if _TESTS.search(path):
        return 1
    if _DOCS.search(path):
        return 2
    if _SOURCE.search(path):
        return 0
    return 3


@dataclass(frozen=True)
class Excerpt:
    """Lines ``start``..``end`` (1-based, inclusive) of the post-change file; ``why`` is
    ``enclosing`` or ``around``."""

    start: int
    end: int
    why: str


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _enclosing(lines: list[str], first: int, last: int) -> tuple[int, int] | None:
    """The enclosing definition of lines ``first``..``last`` (0-based): its first line
    (decorators included) and the last line of its body, or None (module-level code)."""
    body = [i for i in range(first, min(last + 1, len(lines))) if lines[i].strip()]
    if not body:
        return None
    level = min(_indent(lines[i]) for i in body)
    header = None
    for i in range(min(first, len(lines) - 1), max(-1, first - MAX_LOOKBACK), -1):
        line = lines[i]
        if not line.strip():
            continue
        if i == first and _DEFINITION.match(line):
            header = i
            break
        if _indent(line) >= level or line.lstrip()[:1] in (")", "]", "}"):
            continue  # deeper lines, and the closing line of a multi-line signature
        if _DEFINITION.match(line):
            header = i
            break
        level = _indent(line)  # a block (if/for/with) inside the definition: go on up
        if level == 0:
            return None
    if header is None:
        return None
    head = header
    while head > 0 and lines[head - 1].lstrip().startswith("@"):
        head -= 1  # decorators belong to the definition
    header_level = _indent(lines[header])
    end = len(lines) - 1
    for j in range(max(header + 1, last + 1), len(lines)):
        stripped = lines[j].strip()
        if stripped and _indent(lines[j]) <= header_level:
            closes = stripped[:1] in ("}", ")", "]") or stripped == "end" or \
                stripped.startswith("end ")
            end = j if closes else j - 1
            break
    while end > last and not lines[end].strip():
        end -= 1
    return head, end


def excerpt(file: FileChange, text: str, *, around: int = 20) -> list[Excerpt]:
    """The ranges of the post-change ``text`` to show around ``file``'s hunks, merged and in
    order. Deleted files and files with no hunks get none."""
    if file.status == "deleted" or not file.hunks:
        return []
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    ranges: list[Excerpt] = []
    for hunk in file.hunks:
        if hunk.new_len == 0:
            first = last = max(0, hunk.new_start - 1)
        else:
            first, last = hunk.new_start - 1, hunk.new_start + hunk.new_len - 2
        found = _enclosing(lines, first, last)
        if found and found[1] - found[0] + 1 <= MAX_ENCLOSING_LINES and \
                (found[0] < first or found[1] > last):
            ranges.append(Excerpt(found[0] + 1, found[1] + 1, "enclosing"))
        else:
            ranges.append(Excerpt(max(1, first + 1 - around), min(len(lines), last + 1 + around),
                                  "around"))
    ranges.sort(key=lambda r: r.start)
    merged: list[Excerpt] = []
    for r in ranges:
        if merged and r.start <= merged[-1].end + 1:
            last_r = merged[-1]
            merged[-1] = Excerpt(last_r.start, max(last_r.end, r.end),
                                 "enclosing" if "enclosing" in (last_r.why, r.why) else "around")
        else:
            merged.append(r)
    return [r for r in merged if r.end >= r.start]


def render_numbered(file: FileChange, text: str, ranges: list[Excerpt] | None) -> str:
    """The excerpts (or, with ``ranges=None``, the whole file) with new-side line numbers;
    lines the diff shows are replaced by one ``⋮ lines a-b: in the diff`` pointer."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    shown_in_diff: list[tuple[int, int]] = [
        (h.new_start, h.new_start + h.new_len - 1) for h in file.hunks if h.new_len > 0]
    spans = [(1, len(lines))] if ranges is None else [(r.start, r.end) for r in ranges]
    width = len(str(len(lines) or 1))
    out: list[str] = []
    for start, end in spans:
        if out:
            out.append("⋮")
        n = start
        while n <= end:
            covering = next(((a, b) for a, b in shown_in_diff if a <= n <= b), None)
            if covering is not None and ranges is not None:
                stop = min(covering[1], end)
                out.append(f"⋮ lines {n}-{stop}: in the diff")
                n = stop + 1
                continue
            out.append(f"{n:>{width}} {lines[n - 1]}")
            n += 1
    return "\n".join(out) + "\n"
