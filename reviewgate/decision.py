"""The decision: a pure function of the ballots and the policy (DESIGN.md section 4).

Rules, in order (each a default set by :class:`~reviewgate.config.Policy`):

1. a ballot with no valid verdict is ABSTAIN and never counts as OK;
2. fewer than ``quorum`` non-abstaining ballots in any hat -> ``error`` (fail closed);
3. a ``blocker`` finding from a non-abstaining ballot -> at least ``defer``
   (``blockers = "corroborated"``: only blockers raised by two or more ballots);
4. a hat whose NOT_OK votes outnumber its OK votes -> at least ``defer``;
5. ``split`` replaces ``defer`` when the change is oversized (changed lines or files above the
   thresholds, lockfiles and generated files excluded) or ``split_votes`` ballots suggest a split;
6. otherwise ``merge``;
7. the result does not depend on the order of seats, hats or ballots (everything is sorted).

Imports: stdlib, pydantic and the leaf modules only; no network library.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Literal

from pydantic import BaseModel, Field

from .config import Policy
from .verdict import SEVERITY_RANK, Ballot, Finding

__all__ = [
    "STATUS_FOR",
    "Cluster",
    "Decision",
    "DecisionName",
    "Dissent",
    "HatTally",
    "decide",
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
    """One finding as raised by one ballot."""

    seat: str
    hat: str
    finding: Finding


class Cluster(BaseModel):
    """Findings from different ballots about the same thing (same location, similar title).

    ``severity`` is the most severe member's; ``ballots`` counts distinct (seat, hat) pairs.
    """

    severity: str
    title: str
    location: str
    members: list[Raised]

    @property
    def ballots(self) -> int:
        """How many distinct ballots raised this finding."""
        return len({(m.seat, m.hat) for m in self.members})

    @property
    def corroborated(self) -> bool:
        """True when raised by more than one ballot."""
        return self.ballots > 1

    @property
    def raised_by(self) -> list[str]:
        """``hat-seat`` names of the ballots that raised it, sorted."""
        return sorted({f"{m.hat}-{m.seat}" for m in self.members})


class Dissent(BaseModel):
    """A NOT_OK ballot: who voted against merging, how sure, and why."""

    seat: str
    hat: str
    confidence: float
    summary: str


class Decision(BaseModel):
    """The outcome of one run.

    ``state`` is the commit status state (``success``/``failure``/``error``); ``reasons`` say in
    plain words why; ``questions`` are yes/no operator decisions.
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

    @property
    def single_blockers(self) -> list[Cluster]:
        """Blockers raised by exactly one ballot."""
        return [c for c in self.clusters if c.severity == "blocker" and not c.corroborated]

    @property
    def corroborated(self) -> list[Cluster]:
        """Findings raised by more than one ballot, any severity."""
        return [c for c in self.clusters if c.corroborated]

    @property
    def single_high(self) -> list[Cluster]:
        """High-severity findings raised by exactly one ballot."""
        return [c for c in self.clusters if c.severity == "high" and not c.corroborated]

    def tally_line(self) -> str:
        """``Tech: 2/3 OK · Product: 1/3 OK`` (OK of all ballots in the hat)."""
        return " · ".join(f"{t.hat.capitalize()}: {t.ok}/{t.total} OK" for t in self.tallies)


# --- clustering ----------------------------------------------------------------------------------

_LOC = re.compile(r"^\s*(?P<path>[^\s:]+?)(?::(?P<line>\d+)(?:-\d+)?)?(?:[\s:,].*)?$")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = {"the", "a", "an", "of", "in", "on", "to", "is", "and", "or", "for", "not", "be", "with"}


def _location(loc: str) -> tuple[str, int | None]:
    m = _LOC.match(loc or "")
    if not m or "/" not in m.group("path") and "." not in m.group("path"):
        return "", None
    line = m.group("line")
    return m.group("path").lower(), int(line) if line else None


def _words(title: str) -> set[str]:
    return {w for w in _WORD.findall(title.lower()) if w not in _STOP}


def _similar(a: str, b: str) -> bool:
    wa, wb = _words(a), _words(b)
    if wa and wb and len(wa & wb) / len(wa | wb) >= 0.5:
        return True
    return SequenceMatcher(None, a.lower(), b.lower()).ratio() >= 0.75


def _same_place(a: str, b: str) -> bool:
    pa, la = _location(a)
    pb, lb = _location(b)
    if pa != pb:
        return False
    if la is None or lb is None:
        return True
    return abs(la - lb) <= 10


def _cluster(raised: list[Raised]) -> list[Cluster]:
    ordered = sorted(raised, key=lambda r: (SEVERITY_RANK[r.finding.severity], r.finding.location,
                                            r.finding.title, r.seat, r.hat))
    clusters: list[Cluster] = []
    for item in ordered:
        for cluster in clusters:
            if _same_place(cluster.location, item.finding.location) and _similar(
                    cluster.title, item.finding.title):
                cluster.members.append(item)
                break
        else:
            clusters.append(Cluster(severity=item.finding.severity, title=item.finding.title,
                                    location=item.finding.location, members=[item]))
    clusters.sort(key=lambda c: (SEVERITY_RANK[c.severity], -c.ballots, c.location, c.title))
    return clusters


# --- the decision --------------------------------------------------------------------------------

def decide(ballots: list[Ballot], policy: Policy, *, hats: list[str], changed_lines: int,
           changed_files: int) -> Decision:
    """Decide merge / defer / split / error from the ballots.

    Args:
        ballots: one per (seat, hat); any order.
        policy: thresholds and blocker handling.
        hats: the configured hats; a hat with no ballots fails quorum.
        changed_lines, changed_files: size of the change with excluded files already left out.

    Returns:
        a :class:`Decision`; never raises for any list of valid ballots.
    """
    ballots = sorted(ballots, key=lambda b: (b.hat, b.seat))
    hat_names = sorted(set(hats) | {b.hat for b in ballots})
    tallies = {h: HatTally(hat=h) for h in hat_names}
    for b in ballots:
        t = tallies[b.hat]
        if b.vote == "OK":
            t.ok += 1
        elif b.vote == "NOT_OK":
            t.not_ok += 1
        else:
            t.abstain += 1
    ordered_tallies = [tallies[h] for h in sorted(hat_names, key=lambda h: (
        hats.index(h) if h in hats else len(hats), h))]

    voting = [b for b in ballots if not b.abstained and b.verdict is not None]
    raised = [Raised(seat=b.seat, hat=b.hat, finding=f) for b in voting for f in b.verdict.risks]
    clusters = _cluster(raised)
    dissents = sorted((Dissent(seat=b.seat, hat=b.hat, confidence=b.verdict.confidence,
                               summary=b.verdict.summary)
                       for b in voting if b.vote == "NOT_OK"),
                      key=lambda d: (-d.confidence, d.hat, d.seat))
    abstentions = [f"{b.key}: {b.error or 'no valid verdict'}" for b in ballots if b.abstained]
    split_votes = sum(1 for b in voting if b.verdict.split)
    oversized = (changed_lines > policy.split_max_changed_lines
                 or changed_files > policy.split_max_files)

    questions: list[str] = []
    seen: set[str] = set()
    single_blockers = [c for c in clusters if c.severity == "blocker" and not c.corroborated]
    if policy.blockers == "corroborated":
        for c in single_blockers:
            questions.append(f"Is the single-reviewer blocker \"{c.title}\" "
                             f"({', '.join(c.raised_by)}) a real blocker?")
    for b in voting:
        for q in b.verdict.questions:
            norm = " ".join(q.lower().split())
            if norm and norm not in seen:
                seen.add(norm)
                questions.append(q.strip())

    reasons: list[str] = []
    by_name = sorted(ordered_tallies, key=lambda t: t.hat)  # reasons never depend on hat order
    short = [t for t in by_name if t.voting < policy.quorum]
    if short:
        reasons.append(f"{len(abstentions)} of {len(ballots)} ballots abstained; quorum is "
                       f"{policy.quorum} voting ballots per hat, " + ", ".join(
                           f"{t.hat} has {t.voting}" for t in short))
        reasons.extend(abstentions)
        name: DecisionName = "error"
    else:
        defer = False
        blocking = [c for c in clusters if c.severity == "blocker"
                    and (policy.blockers == "any" or c.corroborated)]
        if blocking:
            defer = True
            reasons.append(f"{len(blocking)} blocker finding(s): " + "; ".join(
                f"{c.title} ({', '.join(c.raised_by)})" for c in blocking))
        for t in by_name:
            if t.not_ok > t.ok:
                defer = True
                reasons.append(f"{t.hat} hat: {t.not_ok} NOT_OK vs {t.ok} OK")
        if defer and (oversized or split_votes >= policy.split_votes):
            name = "split"
            if oversized:
                reasons.append(f"change is oversized: {changed_lines} changed lines in "
                               f"{changed_files} files (limits {policy.split_max_changed_lines}"
                               f" lines, {policy.split_max_files} files)")
            if split_votes >= policy.split_votes:
                reasons.append(f"{split_votes} ballots suggest splitting the change")
        elif defer:
            name = "defer"
        else:
            name = "merge"
            reasons.append("quorum met, no blocking finding, no hat voted against merging")
    return Decision(decision=name, state=STATUS_FOR[name], reasons=reasons,
                    tallies=ordered_tallies, clusters=clusters, dissents=dissents,
                    abstentions=abstentions, questions=questions, changed_lines=changed_lines,
                    changed_files=changed_files, oversized=oversized, split_votes=split_votes,
                    policy=policy)
