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
from ..core.verdict import SEVERITY_RANK
from ..ensemble.record import Record

__all__ = ["MATCH_THRESHOLD", "RoundDiff", "carried_diff", "compare", "judged", "next_key",
           "track_round", "tracked"]

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


# --- the outcome ledger -----------------------------------------------------------------------

def judged(decision: Decision) -> bool:
    """True when every hat has a quorum of voting ballots: a round that could not decide (a
    provider outage, a budget refusal, everyone abstaining) judged no finding."""
    q = decision.policy.quorum
    return bool(decision.tallies) and all(t.voting >= q for t in decision.tallies)


def next_key(entries: list[dict | None], findings: list[dict] | None) -> int:
    """The first ledger key not used by any round's outcome entry (``entries``) or by the
    latest round's ``findings``: one more than the largest (1 on a new pull request)."""
    used = [0]
    for e in entries:
        for item in (e.get("n") or [] if isinstance(e, dict) else []):
            if isinstance(item, list) and item and _is_key(item[0]):
                used.append(item[0])
    used += [f["i"] for f in findings or [] if isinstance(f, dict) and _is_key(f.get("i"))]
    return max(used) + 1


def _is_key(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _fresh(c: Cluster, before: set[tuple[str, str]]) -> list[list[str]]:
    """The ballots of this round that raised ``c`` and had not raised it before, as
    ``[seat, hat, severity]`` (the ballot's own most severe member), sorted."""
    own: dict[tuple[str, str], str] = {}
    for m in c.members:
        if m.index < 0 or (m.seat, m.hat) in before:
            continue
        sev = m.finding.severity
        if (m.seat, m.hat) not in own or SEVERITY_RANK[sev] < SEVERITY_RANK[own[(m.seat, m.hat)]]:
            own[(m.seat, m.hat)] = sev
    return [[seat, hat, sev] for (seat, hat), sev in sorted(own.items())]


def track_round(record: Record, prior: list[dict] | None, key: int) -> tuple[list[dict], dict]:
    """This round's findings as the history keeps them (:func:`tracked`, each with its ledger
    key ``i``), and the round's outcome entry, which every later round keeps:

    - ``n``: ``[key, [[seat, hat, severity], ...]]`` per finding some ballot raised for the
      first time in this round (a finding raised again by another ballot lists only it);
    - ``r``: keys of carried findings a quorum of seats marked resolved (an incremental round:
      the change pushed since resolved them);
    - ``d``: keys of the previous round's findings a whole re-review did not raise again
      (no judgement on them: kept apart from ``r``);
    - ``c``: ``[seat, hat, usd]`` what each ballot cost this round (USD; 0 from the cache).

    A finding keeps its key across rounds: an incremental round through its carried label, a
    whole round through :func:`compare`'s matching. A round that judged nothing
    (:func:`judged` is False) changes no finding: the previous findings stay as they were.

    Args:
        prior: the latest reviewed round's findings (None: none).
        key: the first unused ledger key (:func:`next_key`).
    """
    costs = [[b.seat, b.hat, round(0.0 if b.cached else b.cost_usd, 6)]
             for b in record.ballots]
    decision = record.decision
    if not judged(decision):
        return list(prior or []), {"n": [], "r": [], "d": [], "c": costs}
    clusters = decision.clusters
    current = tracked(clusters)
    keys: list[int | None] = [None] * len(clusters)
    before: list[set[tuple[str, str]]] = [set() for _ in clusters]
    resolved: list[int] = []
    dropped: list[int] = []
    plan = record.input.round
    if plan is not None and plan.incremental:
        labels = {f.id: f for f in plan.carried}
        for j, c in enumerate(clusters):
            f = labels.get(c.carried) if c.carried else None
            if f is not None and f.key is not None:
                keys[j] = f.key
                before[j] = {(s, h) for s, h, _ in f.members}
        resolved = [f.key for o in decision.resolved
                    if (f := labels.get(o.id)) is not None and f.key is not None]
    elif prior:
        pairs = match_pairs([_key(f) for f in prior], [_key(f) for f in current])
        matched = {i for i, _ in pairs}
        for i, j in pairs:
            if _is_key(prior[i].get("i")):
                keys[j] = prior[i]["i"]
                before[j] = {(str(m[0]), str(m[1])) for m in prior[i].get("m") or []
                             if isinstance(m, (list, tuple)) and len(m) >= 2}
        dropped = [f["i"] for i, f in enumerate(prior) if i not in matched and _is_key(f.get("i"))]
    raised = []
    for j, c in enumerate(clusters):
        if keys[j] is None:
            keys[j], key = key, key + 1
        current[j]["i"] = keys[j]
        fresh = _fresh(c, before[j])
        if fresh:
            raised.append([keys[j], fresh])
    return current, {"n": raised, "r": sorted(resolved), "d": sorted(dropped), "c": costs}
