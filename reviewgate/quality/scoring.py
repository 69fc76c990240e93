"""Review-quality scores: how well consolidation sees agreement, and how good the findings are.

Definitions (issue "An ensemble that sees agreement"; DESIGN.md section 7):

* *same pairs*: two findings from different reviewers labelled with the same golden id;
  *different pairs*: from different reviewers, labelled with different golden ids of the same
  pull request. ``same_issue.recall`` is the share of same pairs put in one cluster;
  ``false_merge_rate`` the share of different pairs put in one cluster.
* ``findings``: every cluster is scored; a cluster is correct when it matches a golden comment.
  precision = correct clusters / clusters; recall = golden comments covered / golden comments.
* ``corroborated``: the same, over the clusters raised by two or more seats only.

All counts are summed over pull requests before dividing (micro averages). Imports: stdlib and
pydantic only.
"""

from __future__ import annotations

from itertools import combinations

from pydantic import BaseModel, Field

__all__ = ["ClusterOutcome", "Metric", "PRScore", "Report", "SameIssue", "score_pr", "summarize"]


class ClusterOutcome(BaseModel):
    """One consolidated cluster as scored.

    ``members`` are (seat, golden label or None) per finding, for the same-issue pairs (recorded
    runs); ``matched`` the golden ids the cluster matches (by label, matcher or judge).
    """

    title: str = ""
    seats: list[str]
    members: list[tuple[str, str | None]] = Field(default_factory=list)
    matched: list[str] = Field(default_factory=list)

    @property
    def corroborated(self) -> bool:
        """Raised by two or more seats."""
        return len(set(self.seats)) > 1


class PRScore(BaseModel):
    """Counts for one pull request (and, in live runs, its decision, cost and latency)."""

    id: str
    golden: int
    clusters: int = 0
    correct: int = 0
    covered: int = 0
    corroborated: int = 0
    corroborated_correct: int = 0
    corroborated_covered: int = 0
    same_pairs: int = 0
    same_merged: int = 0
    different_pairs: int = 0
    different_merged: int = 0
    decision: str | None = None
    expect: str | None = None
    consolidated_by: str | None = None
    cost_usd: float = 0.0
    latency_s: float = 0.0
    error: str | None = None


class Metric(BaseModel):
    """Precision, recall and F1 in 0..1 (0 when undefined)."""

    precision: float
    recall: float
    f1: float

    @classmethod
    def of(cls, correct: int, total: int, covered: int, golden: int) -> Metric:
        """From counts: ``correct`` of ``total`` clusters, ``covered`` of ``golden`` comments."""
        p = correct / total if total else 0.0
        r = covered / golden if golden else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return cls(precision=round(p, 4), recall=round(r, 4), f1=round(f, 4))


class SameIssue(BaseModel):
    """How consolidation treats pairs of findings the labels say are the same or different."""

    recall: float
    false_merge_rate: float
    same_pairs: int
    different_pairs: int


class Report(BaseModel):
    """The result of ``reviewgate eval``.

    ``false_block_rate`` (live runs): share of ``expect: merge`` pull requests not decided
    ``merge`` (None when the dataset has none); ``cost_usd`` in USD, ``latency_s`` in seconds,
    both totals over the pull requests.
    """

    dataset: str
    mode: str
    reviewers: list[str]
    same_issue: SameIssue
    findings: Metric
    corroborated: Metric
    false_block_rate: float | None = None
    cost_usd: float = 0.0
    latency_s: float = 0.0
    prs: list[PRScore]


def score_pr(pr_id: str, golden_ids: list[str], clusters: list[ClusterOutcome], *,
             decision: str | None = None, expect: str | None = None) -> PRScore:
    """Score one pull request's clusters against its golden comments."""
    score = PRScore(id=pr_id, golden=len(golden_ids), decision=decision, expect=expect)
    known = set(golden_ids)
    covered: set[str] = set()
    corroborated_covered: set[str] = set()
    where: dict[int, int] = {}
    flat: list[tuple[str, str | None]] = []
    for k, cluster in enumerate(clusters):
        matched = set(cluster.matched) & known
        score.clusters += 1
        score.correct += bool(matched)
        covered |= matched
        if cluster.corroborated:
            score.corroborated += 1
            score.corroborated_correct += bool(matched)
            corroborated_covered |= matched
        for member in cluster.members:
            where[len(flat)] = k
            flat.append(member)
    score.covered, score.corroborated_covered = len(covered), len(corroborated_covered)
    for i, j in combinations(range(len(flat)), 2):
        (seat_i, label_i), (seat_j, label_j) = flat[i], flat[j]
        if seat_i == seat_j or label_i is None or label_j is None:
            continue
        together = where[i] == where[j]
        if label_i == label_j:
            score.same_pairs += 1
            score.same_merged += together
        else:
            score.different_pairs += 1
            score.different_merged += together
    return score


def summarize(prs: list[PRScore], *, dataset: str, mode: str, reviewers: list[str]) -> Report:
    """Sum the per-PR counts into a :class:`Report`."""
    def total(field: str) -> int:
        return sum(getattr(p, field) for p in prs)

    same, diff = total("same_pairs"), total("different_pairs")
    golden = total("golden")
    expected = [p for p in prs if p.expect == "merge" and p.decision is not None]
    return Report(
        dataset=dataset, mode=mode, reviewers=reviewers,
        same_issue=SameIssue(
            recall=round(total("same_merged") / same, 4) if same else 0.0,
            false_merge_rate=round(total("different_merged") / diff, 4) if diff else 0.0,
            same_pairs=same, different_pairs=diff),
        findings=Metric.of(total("correct"), total("clusters"), total("covered"), golden),
        corroborated=Metric.of(total("corroborated_correct"), total("corroborated"),
                               total("corroborated_covered"), golden),
        false_block_rate=(round(sum(p.decision != "merge" for p in expected) / len(expected), 4)
                          if expected else None),
        cost_usd=round(sum(p.cost_usd for p in prs), 6),
        latency_s=round(sum(p.latency_s for p in prs), 3),
        prs=prs)
