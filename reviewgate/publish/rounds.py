"""Rounds across pushes: which findings of the previous round are resolved, new or still open.

A round's consolidated findings are kept (severity, title, location, a short text) in the
decision comment's hidden history. On the next round each current finding is matched to at
most one previous finding by the consolidation similarity (:mod:`reviewgate.core.consolidate`:
TF-IDF over stemmed words and identifiers, same file required when both name one). Line
numbers are dropped for the comparison because a push moves lines. Pure; no network imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.consolidate import Item, Params, similarity_matrix
from ..core.locations import parse_location
from ..core.decision import Cluster

__all__ = ["MATCH_THRESHOLD", "RoundDiff", "compare", "tracked"]

#: Similarity at or above which a current finding is the previous round's finding.
MATCH_THRESHOLD = 0.25
_TEXT_MAX = 300


def tracked(clusters: list[Cluster]) -> list[dict[str, str]]:
    """The findings of a round as stored in the history: ``s`` severity, ``t`` title, ``l``
    location, ``x`` the most severe member's detail (cut to 300 characters)."""
    return [{"s": c.severity, "t": c.title[:200], "l": c.location[:200],
             "x": (c.members[0].finding.detail if c.members else "")[:_TEXT_MAX]}
            for c in clusters]


@dataclass
class RoundDiff:
    """Findings against the previous round: ``resolved`` (there before, gone now), ``new`` and
    ``still_open`` (in both; the current wording)."""

    resolved: list[dict[str, str]] = field(default_factory=list)
    new: list[dict[str, str]] = field(default_factory=list)
    still_open: list[dict[str, str]] = field(default_factory=list)


def _item(side: str, f: dict[str, str]) -> Item:
    loc = parse_location(f.get("l"))
    return Item(ballot=side, text=f"{f.get('t', '')}. {f.get('x', '')}",
                location=loc.path if loc else "")


def compare(previous: list[dict[str, str]], current: list[dict[str, str]],
            threshold: float = MATCH_THRESHOLD) -> RoundDiff:
    """Match ``current`` findings to ``previous`` ones (greedy, best similarity first, each
    matched at most once)."""
    items = [_item("previous", f) for f in previous] + [_item("current", f) for f in current]
    sims = similarity_matrix(items, Params(far_factor=1.0)) if items else []
    n = len(previous)
    pairs = sorted(((sims[i][n + j], i, j) for i in range(n) for j in range(len(current))),
                   reverse=True)
    used_prev: set[int] = set()
    used_cur: set[int] = set()
    for sim, i, j in pairs:
        if sim < threshold:
            break
        if i in used_prev or j in used_cur:
            continue
        used_prev.add(i)
        used_cur.add(j)
    return RoundDiff(resolved=[f for i, f in enumerate(previous) if i not in used_prev],
                     new=[f for j, f in enumerate(current) if j not in used_cur],
                     still_open=[f for j, f in enumerate(current) if j in used_cur])
