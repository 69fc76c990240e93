"""Findings grouped into clusters, and the tallies and dissents of a round: the data the decision
is made of (:mod:`.decision`), and how a round's findings become clusters (the consolidation's
groups, with the previous round's open findings joined in) and are carried to the next round.
Imports: stdlib, pydantic and the leaf modules only; no network library.
"""

from __future__ import annotations

from pydantic import BaseModel

from .carry import CarriedFinding, match_pairs, number_carried
from .consolidate import Item
from .verdict import SEVERITY_RANK, Ballot, Finding

__all__ = ["Cluster", "Dissent", "HatTally", "Raised", "carry_forward", "clusters_of",
           "consolidation_item", "raised_findings", "valid_groups"]


class HatTally(BaseModel):
    """Votes in one hat: ``ok`` of ``voting`` non-abstaining ballots (``total`` with abstains)."""

    hat: str
    ok: int = 0
    not_ok: int = 0
    abstain: int = 0

    @property
    def voting(self) -> int:
        """Non-abstaining ballots."""
        return self.ok + self.not_ok

    @property
    def total(self) -> int:
        """All ballots in the hat."""
        return self.voting + self.abstain


class Raised(BaseModel):
    """One finding as raised by one ballot: ``index`` is its position in the ballot's risks
    (-1: raised in an earlier round and carried)."""

    seat: str
    hat: str
    index: int = 0
    finding: Finding


class Cluster(BaseModel):
    """Findings from different ballots about the same issue (see
    :mod:`reviewgate.core.consolidate`).

    ``severity``, ``title`` and ``location`` are the most severe member's; ``ballots`` counts
    distinct (seat, hat) pairs, ``seats`` distinct seats. A finding is *corroborated* when two or
    more seats (independent models) raised it: one model wearing two hats is not two reviewers.
    ``carried`` is the id (``C1``..) of the previous round's finding it holds, or empty.
    """

    severity: str
    title: str
    location: str
    members: list[Raised]
    carried: str = ""

    @property
    def ballots(self) -> int:
        """How many distinct ballots raised this finding."""
        return len({(m.seat, m.hat) for m in self.members})

    @property
    def seats(self) -> list[str]:
        """Distinct seats that raised this finding, sorted."""
        return sorted({m.seat for m in self.members})

    @property
    def corroborated(self) -> bool:
        """True when raised by two or more seats."""
        return len(self.seats) > 1

    @property
    def raised_by(self) -> list[str]:
        """``hat-seat`` names of the ballots that raised it, sorted."""
        return sorted({f"{m.hat}-{m.seat}" for m in self.members})

    @property
    def median_severity(self) -> str:
        """The severity the seats agree on: each seat counts once, with the most severe of its
        own findings in this cluster (one model's two hats are one reviewer), and the median
        of those is taken; with an even number of seats, the less severe of the two middle
        ones. So one seat's alarm never borrows the others' agreement: a blocker from one
        seat and a low from another is a ``low`` corroborated finding (the blocker still
        defers on its own under ``blockers = "any"``)."""
        per_seat: dict[str, int] = {}
        for m in self.members:
            rank = SEVERITY_RANK.get(m.finding.severity, 3)
            per_seat[m.seat] = min(rank, per_seat.get(m.seat, 3))
        ranks = sorted(per_seat.values())
        middle = ranks[len(ranks) // 2]  # the upper (less severe) middle for an even count
        return next(name for name, rank in SEVERITY_RANK.items() if rank == middle)


class Dissent(BaseModel):
    """A NOT_OK ballot: who voted against merging, how sure, and why."""

    seat: str
    hat: str
    confidence: float
    summary: str



def raised_findings(ballots: list[Ballot]) -> list[Raised]:
    """Every finding of every voting ballot, in a canonical order (hat, seat, position).

    This list is what :func:`decide`'s ``groups`` index into (and what a seat asked to group the
    findings sees, one id per entry).
    """
    voting = sorted((b for b in ballots if not b.abstained and b.verdict is not None),
                    key=lambda b: (b.hat, b.seat))
    return [Raised(seat=b.seat, hat=b.hat, index=i, finding=f)
            for b in voting for i, f in enumerate(b.verdict.risks)]  # type: ignore[union-attr]


def consolidation_item(r: Raised) -> Item:
    """A raised finding as the consolidation compares it (its text and location)."""
    f = r.finding
    head = f.title.rstrip("…")
    text = f.detail if head and f.detail.startswith(head) else f"{f.title}. {f.detail}"
    return Item(ballot=f"{r.hat}-{r.seat}", text=text, location=f.location)


def valid_groups(groups: list[list[int]], count: int) -> bool:
    """True when ``groups`` partition ``range(count)`` (every index exactly once)."""
    flat = [i for g in groups for i in g]
    return sorted(flat) == list(range(count)) and all(groups)


def _cluster(members: list[Raised], carried: str = "") -> Cluster:
    members = sorted(members, key=lambda r: (SEVERITY_RANK[r.finding.severity], r.index < 0,
                                             r.hat, r.seat, r.index))
    lead = members[0].finding
    return Cluster(severity=lead.severity, title=lead.title, location=lead.location,
                   members=members, carried=carried)


def _carried_members(f: CarriedFinding) -> list[Raised]:
    return [Raised(seat=seat, hat=hat, index=-1, finding=Finding(
        severity=severity if severity in SEVERITY_RANK else "low", title=f.title[:200],
        location=f.location[:300], detail=f.detail[:2000], recommendation=""))
        for seat, hat, severity in f.members]


def clusters_of(raised: list[Raised], groups: list[list[int]],
              carried: list[CarriedFinding] | None = None) -> list[Cluster]:
    """The clusters of this round's findings, with the still-open carried findings: a carried
    finding joins the new cluster it matches (:func:`reviewgate.core.carry.match_pairs`), or
    stays a cluster of its own."""
    fresh = [[raised[i] for i in group] for group in groups]
    carried = carried or []
    leads = [min(g, key=lambda r: SEVERITY_RANK[r.finding.severity]).finding for g in fresh]
    pairs = dict(match_pairs([(f.title, f.detail, f.location) for f in carried],
                             [(x.title, x.detail, x.location) for x in leads]))
    joined = {j: i for i, j in pairs.items()}
    clusters = [_cluster(g + (_carried_members(carried[joined[j]]) if j in joined else []),
                         carried[joined[j]].id if j in joined else "")
                for j, g in enumerate(fresh)]
    clusters += [_cluster(_carried_members(f), f.id) for i, f in enumerate(carried)
                 if i not in pairs]
    clusters.sort(key=lambda c: (SEVERITY_RANK[c.severity], -len(c.seats), -c.ballots,
                                 c.location, c.title))
    return clusters


def carry_forward(clusters: list[Cluster]) -> list[CarriedFinding]:
    """A round's findings as the next round carries them (``C1``.., most severe first), each
    with the ballots that raised it, so it counts there as it counted here."""
    return number_carried([CarriedFinding(
        id="C0", severity=c.severity, title=c.title[:200] or "(untitled)",
        location=c.location[:200], detail=(c.members[0].finding.detail if c.members else "")[:300],
        members=sorted({(m.seat, m.hat, m.finding.severity) for m in c.members}))
        for c in clusters if c.members])
