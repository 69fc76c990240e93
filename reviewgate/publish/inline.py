"""Findings placed on the diff: which consolidated finding falls on which line of which file.

A finding's ``location`` (``path:line``, ``path:start-end``, ``path#L12``, ``path line 12``) is
on the diff when the path is a changed file (exactly, or as the unique changed file ending with
it) and the line is a line of a hunk's new side (added or context), where a forge accepts a line
comment. Each consolidated finding (:class:`~reviewgate.core.decision.Cluster`) is placed once, with
all its raisers. Pure; no network imports.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.changeset import FileChange
from ..core.locations import parse_location as parse_locations
from ..core.decision import Cluster

__all__ = ["Placed", "diff_lines", "parse_location", "place_findings"]

def parse_location(location: str) -> tuple[str, int] | None:
    """``(path, line)`` from a finding's location
    (:func:`reviewgate.core.locations.parse_location`), or None when it names no line."""
    loc = parse_locations(location)
    return None if loc is None or loc.line is None else (loc.path, loc.line)


def diff_lines(files: list[FileChange]) -> dict[str, set[int]]:
    """Per changed file, the new-side line numbers its hunks show (added and context lines)."""
    out: dict[str, set[int]] = {}
    for f in files:
        lines: set[int] = set()
        for hunk in f.hunks:
            n = hunk.new_start
            for text in hunk.lines:
                if text.startswith("-") or text.startswith("\\"):
                    continue
                lines.add(n)
                n += 1
        out[f.path] = lines
    return out


def _resolve(path: str, shown: dict[str, set[int]]) -> str | None:
    if path in shown:
        return path
    tails = [p for p in shown if p.endswith("/" + path)]
    return tails[0] if len(tails) == 1 else None


@dataclass
class Placed:
    """A consolidated finding and where it goes: ``path``/``line`` on the diff, or None (it
    stays in the decision comment only, marked as not on a diff line)."""

    cluster: Cluster
    path: str | None = None
    line: int | None = None

    @property
    def on_diff(self) -> bool:
        """True when the finding can be a line comment."""
        return self.path is not None


def place_findings(clusters: list[Cluster], files: list[FileChange]) -> list[Placed]:
    """Each cluster placed on the diff when one of its members' locations is a diff line
    (the cluster's own location first), in the clusters' order."""
    shown = diff_lines(files)
    out = []
    for cluster in clusters:
        placed = Placed(cluster)
        candidates = [cluster.location, *(m.finding.location for m in cluster.members)]
        for location in candidates:
            parsed = parse_location(location)
            if parsed is None:
                continue
            path = _resolve(parsed[0], shown)
            if path is not None and parsed[1] in shown[path]:
                placed.path, placed.line = path, parsed[1]
                break
        out.append(placed)
    return out
