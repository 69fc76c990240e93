"""The decision: a pure function of the ballots and the policy (DESIGN.md section 4).

Rules, in order (each a default set by :class:`~reviewgate.core.config.Policy`):

1. a ballot with no valid verdict is ABSTAIN and never counts as OK;
2. fewer than ``quorum`` non-abstaining ballots in any hat -> ``error`` (fail closed);
3. a ``blocker`` finding from a non-abstaining ballot -> at least ``defer``
   (``blockers = "corroborated"``: only blockers raised by two or more seats, grouped by
   :mod:`reviewgate.core.consolidate`);
4. a hat whose NOT_OK votes equal or outnumber its OK votes -> at least ``defer`` (a tie
   never merges);
5. ``split`` replaces ``defer`` when the change is oversized (changed lines or files above the
   thresholds, lockfiles and generated files excluded) or ``split_votes`` ballots suggest a split;
6. otherwise ``merge``;
   in an incremental round, findings carried from the previous round count as they did then
   unless a quorum of seats marks them resolved (:mod:`reviewgate.core.carry`); a new finding
   that is a carried one joins it;
7. the result does not depend on the order of seats, hats or ballots (everything is sorted);
8. nothing merges unseen: changed lines no quorum of voting ballots saw in every hat (binary,
   undecodable, cut to the budget, over a file limit: :mod:`reviewgate.core.coverage`) beyond
   ``max_unreviewed_share`` of the changed lines -> at least ``defer``.

Imports: stdlib, pydantic and the leaf modules only; no network library.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from .carry import CarriedFinding, CarriedOutcome, judge_carried, match_pairs, number_carried
from .config import Policy
from .consolidate import Item, group_findings
from .coverage import Coverage, Ledger, measure
from .verdict import SEVERITY_RANK, Ballot, Finding

__all__ = [
    "STATUS_FOR",
    "Cluster",
    "Decision",
    "DecisionName",
    "Dissent",
    "HatTally",
    "carry_forward",
    "decide",
    "raised_findings",
    "valid_groups",
]

DecisionName = Literal["merge", "defer", "split", "error"]

#: Commit status state for each decision (DESIGN.md section 4, "Status mapping").
STATUS_FOR: dict[str, str] = {"merge": "success", "defer": "failure", "split": "failure",
                              "error": "error"}


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


class Decision(BaseModel):
    """The outcome of one run.

    ``state`` is the commit status state (``success``/``failure``/``error``); ``reasons`` say in
    plain words why; ``questions`` are yes/no operator decisions. ``groups`` is the grouping of
    :func:`raised_findings` behind ``clusters`` and ``consolidated_by`` who made it
    (``deterministic`` or ``seat:NAME``), so a replay reproduces it without a model call.
    ``coverage`` says which changed lines no quorum saw and why (rule 8); ``unreviewed`` is
    how many files hold such lines.
    """

    decision: DecisionName
    state: str
    reasons: list[str]
    tallies: list[HatTally]
    clusters: list[Cluster]
    dissents: list[Dissent]
    abstentions: list[str]
    questions: list[str]
    changed_lines: int
    changed_files: int
    oversized: bool
    split_votes: int
    policy: Policy = Field(default_factory=Policy)
    consolidated_by: str = "deterministic"
    groups: list[list[int]] = Field(default_factory=list)
    unreviewed: int = 0
    carried: list[CarriedOutcome] = Field(default_factory=list)
    coverage: Coverage = Field(default_factory=Coverage)

    @property
    def resolved(self) -> list[CarriedOutcome]:
        """Carried findings a quorum of seats marked resolved (they left the decision)."""
        return [o for o in self.carried if o.status == "resolved"]

    @property
    def single_blockers(self) -> list[Cluster]:
        """Blockers raised by one seat only."""
        return [c for c in self.clusters if c.severity == "blocker" and not c.corroborated]

    @property
    def corroborated(self) -> list[Cluster]:
        """Findings raised by two or more seats, any severity."""
        return [c for c in self.clusters if c.corroborated]

    @property
    def single_high(self) -> list[Cluster]:
        """High-severity findings raised by one seat only."""
        return [c for c in self.clusters if c.severity == "high" and not c.corroborated]

    @property
    def agreed(self) -> list[Cluster]:
        """The findings that defer because two or more seats agree on them
        (``policy.defer_on_corroborated``), most severe first."""
        return corroborated_deferrals(self.clusters, self.policy)

    def tally_line(self) -> str:
        """``Tech: 2/3 OK · Product: 1/3 OK`` (OK of all ballots in the hat)."""
        return " · ".join(f"{t.hat.capitalize()}: {t.ok}/{t.total} OK" for t in self.tallies)


# --- clustering ----------------------------------------------------------------------------------

def raised_findings(ballots: list[Ballot]) -> list[Raised]:
    """Every finding of every voting ballot, in a canonical order (hat, seat, position).

    This list is what :func:`decide`'s ``groups`` index into (and what a seat asked to group the
    findings sees, one id per entry).
    """
    voting = sorted((b for b in ballots if not b.abstained and b.verdict is not None),
                    key=lambda b: (b.hat, b.seat))
    return [Raised(seat=b.seat, hat=b.hat, index=i, finding=f)
            for b in voting for i, f in enumerate(b.verdict.risks)]  # type: ignore[union-attr]


def _item(r: Raised) -> Item:
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


def _clusters(raised: list[Raised], groups: list[list[int]],
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


# --- the decision --------------------------------------------------------------------------------

def _tallies(ballots: list[Ballot], hats: list[str]) -> list[HatTally]:
    """Per hat, OK / NOT_OK / ABSTAIN counts, in the configured hat order (rule 1: an
    abstention never counts as OK)."""
    names = sorted(set(hats) | {b.hat for b in ballots})
    tallies = {h: HatTally(hat=h) for h in names}
    for b in ballots:
        t = tallies[b.hat]
        if b.vote == "OK":
            t.ok += 1
        elif b.vote == "NOT_OK":
            t.not_ok += 1
        else:
            t.abstain += 1
    return [tallies[h] for h in sorted(names, key=lambda h: (
        hats.index(h) if h in hats else len(hats), h))]


def _questions(voting: list[Ballot], clusters: list[Cluster], policy: Policy) -> list[str]:
    """Operator questions: single-reviewer blockers (``blockers = "corroborated"``), then the
    ballots' own yes/no questions, each once."""
    questions: list[str] = []
    if policy.blockers == "corroborated":
        for c in clusters:
            if c.severity == "blocker" and not c.corroborated:
                questions.append(f"Is the single-reviewer blocker \"{c.title}\" "
                                 f"({', '.join(c.raised_by)}) a real blocker?")
    seen: set[str] = set()
    for b in voting:
        for q in b.verdict.questions:  # type: ignore[union-attr]
            norm = " ".join(q.lower().split())
            if norm and norm not in seen:
                seen.add(norm)
                questions.append(q.strip())
    return questions


def _quorum_reasons(tallies: list[HatTally], ballots: list[Ballot], abstentions: list[str],
                    policy: Policy) -> list[str]:
    """Rule 2: why the gate cannot decide (hats below quorum), or nothing."""
    short = [t for t in tallies if t.voting < policy.quorum]
    if not short:
        return []
    return [f"{len(abstentions)} of {len(ballots)} ballots abstained; quorum is "
            f"{policy.quorum} voting ballots per hat, " + ", ".join(
                f"{t.hat} has {t.voting}" for t in short), *abstentions]


def corroborated_deferrals(clusters: list[Cluster], policy: Policy) -> list[Cluster]:
    """Rule 3, second half: findings raised by two or more seats whose median severity
    (:attr:`Cluster.median_severity`) is ``policy.defer_on_corroborated`` or above."""
    if policy.defer_on_corroborated == "off":
        return []
    limit = SEVERITY_RANK[policy.defer_on_corroborated]
    return [c for c in clusters if c.corroborated and SEVERITY_RANK[c.median_severity] <= limit]


def _defer_reasons(clusters: list[Cluster], tallies: list[HatTally], policy: Policy,
                   coverage: Coverage) -> list[str]:
    """Rules 3, 4 and 8: blocker findings and findings several seats agree on, hats without an
    OK majority (a tie never merges), changed lines no quorum saw beyond
    ``max_unreviewed_share``. Empty: nothing defers."""
    reasons = []
    blocking = [c for c in clusters if c.severity == "blocker"
                and (policy.blockers == "any" or c.corroborated)]
    if blocking:
        reasons.append(f"{len(blocking)} blocker finding(s): " + "; ".join(
            f"{c.title} ({', '.join(c.raised_by)})" for c in blocking))
    agreed = [c for c in corroborated_deferrals(clusters, policy) if c not in blocking]
    if agreed:
        reasons.append(f"{len(agreed)} finding(s) that two or more seats agree on, at "
                       f"{policy.defer_on_corroborated} severity or above: " + "; ".join(
                           f"{c.title} [{c.median_severity}] ({', '.join(c.raised_by)})"
                           for c in agreed))
    for t in tallies:
        if t.not_ok >= t.ok:
            reasons.append(f"{t.hat} hat: {t.not_ok} NOT_OK vs {t.ok} OK" +
                           (" (a tie never merges)" if t.not_ok == t.ok else ""))
    if coverage.unreviewed and coverage.share > policy.max_unreviewed_share:
        files = coverage.files
        shown = ", ".join(files[:5]) + (", ..." if len(files) > 5 else "")
        reasons.append(f"{coverage.describe()}, over max_unreviewed_share "
                       f"({policy.max_unreviewed_share:.0%}) in {len(files)} file(s): {shown}")
    return reasons


def _split_reasons(policy: Policy, changed_lines: int, changed_files: int,
                   split_votes: int) -> list[str]:
    """Rule 5: why a deferred change should be split (oversized, or enough split votes)."""
    reasons = []
    if changed_lines > policy.split_max_changed_lines or changed_files > policy.split_max_files:
        reasons.append(f"change is oversized: {changed_lines} changed lines in "
                       f"{changed_files} files (limits {policy.split_max_changed_lines}"
                       f" lines, {policy.split_max_files} files)")
    if split_votes >= policy.split_votes:
        reasons.append(f"{split_votes} ballots suggest splitting the change")
    return reasons


def decide(ballots: list[Ballot], policy: Policy, *, hats: list[str], changed_lines: int,
           changed_files: int, groups: list[list[int]] | None = None,
           consolidated_by: str = "deterministic",
           ledger: Ledger | None = None,
           carried: list[CarriedFinding] | None = None) -> Decision:
    """Decide merge / defer / split / error from the ballots (the rules in the module
    docstring, DESIGN.md section 4, each one step below).

    Args:
        ballots: one per (seat, hat); any order.
        policy: thresholds and blocker handling.
        hats: the configured hats; a hat with no ballots fails quorum.
        changed_lines, changed_files: size of the change with excluded files already left out.
        groups: a grouping of :func:`raised_findings` decided elsewhere (a seat asked to group
            them); ignored, with the deterministic grouping used instead, unless it partitions
            the findings.
        consolidated_by: who made ``groups`` (recorded in the decision).
        ledger: what each seat's pack held of each changed file
            (:func:`reviewgate.core.coverage.build_ledger`); the lines no quorum of voting
            ballots saw in every hat, over ``policy.max_unreviewed_share`` of the changed
            lines, make it at least ``defer``. None: every line counts as seen (a recorded
            run without a ledger, the eval of recorded findings).
        carried: in an incremental round, the previous round's open findings; those not
            resolved by a quorum of seats stay in ``clusters`` (``Cluster.carried``) and count
            as before; ``changed_lines``/``changed_files`` are then the whole pull request's.

    Returns:
        a :class:`Decision`; never raises for any list of valid ballots.
    """
    ballots = sorted(ballots, key=lambda b: (b.hat, b.seat))  # rule 7: order never matters
    tallies = _tallies(ballots, hats)
    voting = [b for b in ballots if not b.abstained and b.verdict is not None]
    raised = raised_findings(ballots)
    if groups is not None and not valid_groups(groups, len(raised)):
        consolidated_by = f"deterministic ({consolidated_by}: not a grouping of the findings)"
        groups = None
    if groups is None:
        groups = group_findings([_item(r) for r in raised])
    outcomes = judge_carried(carried or [], ballots, policy)
    still_open = [f for f, o in zip(carried or [], outcomes, strict=True) if o.status == "open"]
    clusters = _clusters(raised, groups, still_open)
    dissents = sorted((Dissent(seat=b.seat, hat=b.hat, confidence=b.verdict.confidence,
                               summary=b.verdict.summary)
                       for b in voting if b.vote == "NOT_OK"),
                      key=lambda d: (-d.confidence, d.hat, d.seat))
    abstentions = [f"{b.key}: {b.error or 'no valid verdict'}" for b in ballots if b.abstained]
    split_votes = sum(1 for b in voting if b.verdict.split)
    oversized = (changed_lines > policy.split_max_changed_lines
                 or changed_files > policy.split_max_files)
    by_name = sorted(tallies, key=lambda t: t.hat)  # reasons never depend on hat order
    coverage = Coverage() if ledger is None else measure(
        ledger, {t.hat: sorted(b.seat for b in voting if b.hat == t.hat) for t in tallies},
        policy.quorum)

    name: DecisionName
    reasons = _quorum_reasons(by_name, ballots, abstentions, policy)
    if reasons:
        name = "error"
    else:
        reasons = _defer_reasons(clusters, by_name, policy, coverage)
        split = _split_reasons(policy, changed_lines, changed_files, split_votes)
        if reasons and split:
            name, reasons = "split", reasons + split
        elif reasons:
            name = "defer"
        else:
            name = "merge"
            reasons = ["quorum met, no blocking finding, no hat voted against merging"]
    return Decision(decision=name, state=STATUS_FOR[name], reasons=reasons, tallies=tallies,
                    clusters=clusters, dissents=dissents, abstentions=abstentions,
                    questions=_questions(voting, clusters, policy),
                    changed_lines=changed_lines, changed_files=changed_files,
                    oversized=oversized, split_votes=split_votes, policy=policy,
                    consolidated_by=consolidated_by, groups=groups,
                    unreviewed=len(coverage.files), carried=outcomes, coverage=coverage)
