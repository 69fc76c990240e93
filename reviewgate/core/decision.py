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

from .carry import CarriedFinding, CarriedOutcome, judge_carried
from .clusters import (Cluster, Dissent, HatTally, Raised, carry_forward, clusters_of,
                       consolidation_item, raised_findings, valid_groups)
from .config import Policy
from .consolidate import group_findings
from .coverage import Coverage, Ledger, measure
from .verdict import SEVERITY_RANK, Ballot

__all__ = [
    "STATUS_FOR",
    "Cluster",
    "Decision",
    "DecisionName",
    "Dissent",
    "HatTally",
    "Raised",
    "carry_forward",
    "decide",
    "raised_findings",
    "valid_groups",
]

DecisionName = Literal["merge", "defer", "split", "error"]

#: Commit status state for each decision (DESIGN.md section 4, "Status mapping").
STATUS_FOR: dict[str, str] = {"merge": "success", "defer": "failure", "split": "failure",
                              "error": "error"}


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
        groups = group_findings([consolidation_item(r) for r in raised])
    outcomes = judge_carried(carried or [], ballots, policy)
    still_open = [f for f, o in zip(carried or [], outcomes, strict=True) if o.status == "open"]
    clusters = clusters_of(raised, groups, still_open)
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
