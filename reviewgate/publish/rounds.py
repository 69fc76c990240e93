"""Rounds across pushes: which findings of the previous round are resolved, new or still open.

A round's consolidated findings are kept (severity, title, location, a short text) in the
decision comment's hidden history. On the next round each current finding is matched to at
most one previous finding by the consolidation similarity (:mod:`reviewgate.core.consolidate`:
TF-IDF over stemmed words and identifiers, same file required when both name one). Line
numbers are dropped for the comparison because a push moves lines. Pure; no network imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.carry import MATCH_THRESHOLD, match_pairs
from ..core.decision import Cluster, Decision

__all__ = ["MATCH_THRESHOLD", "RoundDiff", "carried_diff", "compare", "tracked"]

_TEXT_MAX = 300


def tracked(clusters: list[Cluster]) -> list[dict]:
    """The findings of a round as stored in the history: ``s`` severity, ``t`` title, ``l``
    location, ``x`` the most severe member's detail (cut to 300 characters), ``m`` the ballots
    that raised it as ``[seat, hat, severity]`` (what an incremental round needs to count a
    carried finding as before)."""
    return [{"s": c.severity, "t": c.title[:200], "l": c.location[:200],
             "x": (c.members[0].finding.detail if c.members else "")[:_TEXT_MAX],
             "m": sorted({(m.seat, m.hat, m.finding.severity) for m in c.members})}
            for c in clusters]


@dataclass
class RoundDiff:
    """Findings against the previous round: ``resolved`` (there before, gone now), ``new`` and
    ``still_open`` (in both; the current wording)."""

    resolved: list[dict] = field(default_factory=list)
    new: list[dict] = field(default_factory=list)
    still_open: list[dict] = field(default_factory=list)


def _key(f: dict) -> tuple[str, str, str]:
    return (str(f.get("t", "")), str(f.get("x", "")), str(f.get("l", "")))


def compare(previous: list[dict], current: list[dict],
            threshold: float = MATCH_THRESHOLD) -> RoundDiff:
    """Match ``current`` findings to ``previous`` ones (greedy, best similarity first, each
    matched at most once; :func:`reviewgate.core.carry.match_pairs`)."""
    pairs = match_pairs([_key(f) for f in previous], [_key(f) for f in current], threshold)
    used_prev = {i for i, _ in pairs}
    used_cur = {j for _, j in pairs}
    return RoundDiff(resolved=[f for i, f in enumerate(previous) if i not in used_prev],
                     new=[f for j, f in enumerate(current) if j not in used_cur],
                     still_open=[f for j, f in enumerate(current) if j in used_cur])


def carried_diff(decision: Decision) -> RoundDiff:
    """The findings of an incremental round against the previous one, from the judgement of the
    carried findings: ``resolved`` by a quorum of seats, ``still_open`` (the clusters holding a
    carried finding), ``new`` (the clusters that hold none)."""
    return RoundDiff(
        resolved=[{"s": o.severity, "t": o.title} for o in decision.resolved],
        new=tracked([c for c in decision.clusters if not c.carried]),
        still_open=tracked([c for c in decision.clusters if c.carried]))
