"""Review-quality scores: how well consolidation sees agreement, and how good the findings are.

Definitions (issue "An ensemble that sees agreement"; DESIGN.md section 7):

* *same pairs*: two findings from different reviewers labelled with the same golden id;
  *different pairs*: from different reviewers, labelled with different golden ids of the same
  pull request. ``same_issue.recall`` is the share of same pairs put in one cluster;
  ``false_merge_rate`` the share of different pairs put in one cluster.
* ``findings``: every cluster is scored; a cluster is correct when it matches a golden comment.
  precision = correct clusters / clusters; recall = golden comments covered / golden comments.
* ``corroborated``: the same, over the clusters raised by two or more seats only.
* live runs, on the entries expected to merge (``expect: merge``): a *false block* is one the
  gate deferred or split; an ``error`` decision and a deferral that only the unreviewed lines
  caused (the same ballots, every line seen, would merge) are counted apart, not as false
  blocks. ``false_block_rate`` = false blocks / entries expected to merge.
* per pull request: cost (USD) and tokens summed over its entries (``EvalPR.pr``: a pull
  request reviewed at two commits is one pull request), divided by the pull requests.
* per seat: the golden comments found by clusters the seat raised (``recall``; ``sole``: found
  by no other seat), the share of entries expected to merge on which it voted ``NOT_OK`` in
  some hat (it alone would have blocked them), and its own cost and tokens per pull request.

Costs and tokens count every ballot, those from the verdict cache too (what the review costs;
``paid_usd`` is what this run paid). All counts are summed over pull requests before dividing
(micro averages). Imports: stdlib and pydantic only.
"""

from __future__ import annotations

from itertools import combinations

from pydantic import BaseModel, Field

__all__ = ["ClusterOutcome", "Metric", "PRScore", "Report", "SameIssue", "SeatReport",
           "SeatScore", "score_pr", "summarize"]


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


class SeatScore(BaseModel):
    """One seat on one entry (live runs): the golden ids its clusters matched, whether it voted
    ``NOT_OK`` in some hat, its tokens and cost (USD)."""

    found: list[str] = Field(default_factory=list)
    voted_against: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0


class PRScore(BaseModel):
    """Counts for one entry (and, in live runs, its decision, the golden ids found and missed,
    why it did not merge, cost, tokens and latency, and the same per seat). ``pull``: the pull
    request it belongs to (its id when the dataset does not say)."""

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
    pull: str = ""
    found: list[str] = Field(default_factory=list)
    missed: list[str] = Field(default_factory=list)
    blocked: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    paid_usd: float = 0.0
    seats: dict[str, SeatScore] = Field(default_factory=dict)


class SeatReport(BaseModel):
    """One seat over the dataset (module docstring): golden comments found, of them found by
    no other seat, recall, share of entries expected to merge it voted against, cost (USD)
    and tokens per pull request."""

    seat: str
    found: int
    sole: int
    recall: float
    false_block_rate: float | None
    cost_usd: float
    cost_per_pr: float
    tokens_in_per_pr: float
    tokens_out_per_pr: float


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

    ``false_block_rate`` (live runs): share of ``expect: merge`` entries deferred or split for
    their findings or votes (None when the dataset has none); ``merge_expected``,
    ``false_blocks``, ``unreviewed_blocks`` and ``error_decisions`` count those entries;
    ``cost_usd`` in USD, ``latency_s`` in seconds, both totals over the entries;
    ``pull_requests`` the distinct pull requests, ``cost_per_pr`` and ``tokens_*_per_pr``
    divided by them; ``seats`` the per-seat figures (module docstring).
    """

    dataset: str
    mode: str
    reviewers: list[str]
    same_issue: SameIssue
    findings: Metric
    corroborated: Metric
    false_block_rate: float | None = None
    merge_expected: int = 0
    false_blocks: int = 0
    unreviewed_blocks: int = 0
    error_decisions: int = 0
    cost_usd: float = 0.0
    paid_usd: float = 0.0
    latency_s: float = 0.0
    pull_requests: int = 0
    cost_per_pr: float = 0.0
    tokens_in_per_pr: float = 0.0
    tokens_out_per_pr: float = 0.0
    seats: list[SeatReport] = Field(default_factory=list)
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
    score.found = [g for g in golden_ids if g in covered]
    score.missed = [g for g in golden_ids if g not in covered]
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


def _per(value: float, n: int, digits: int = 6) -> float:
    return round(value / n, digits) if n else 0.0


def _seats(prs: list[PRScore], golden: int, pulls: int,
           expected: list[PRScore]) -> list[SeatReport]:
    """The per-seat figures over the entries that have any (live runs)."""
    names = sorted({seat for p in prs for seat in p.seats})
    out = []
    for seat in names:
        mine = [(p, p.seats[seat]) for p in prs if seat in p.seats]
        found = sum(len(s.found) for _, s in mine)
        sole = sum(1 for p, s in mine for g in s.found
                   if not any(g in o.found for name, o in p.seats.items() if name != seat))
        against = [p for p in expected if seat in p.seats and p.seats[seat].voted_against]
        cost = sum(s.cost_usd for _, s in mine)
        out.append(SeatReport(
            seat=seat, found=found, sole=sole, recall=round(found / golden, 4) if golden else 0.0,
            false_block_rate=round(len(against) / len(expected), 4) if expected else None,
            cost_usd=round(cost, 6), cost_per_pr=_per(cost, pulls),
            tokens_in_per_pr=_per(sum(s.tokens_in for _, s in mine), pulls, 1),
            tokens_out_per_pr=_per(sum(s.tokens_out for _, s in mine), pulls, 1)))
    return out


def summarize(prs: list[PRScore], *, dataset: str, mode: str, reviewers: list[str]) -> Report:
    """Sum the per-PR counts into a :class:`Report`."""
    def total(field: str) -> int:
        return sum(getattr(p, field) for p in prs)

    same, diff = total("same_pairs"), total("different_pairs")
    golden = total("golden")
    expected = [p for p in prs if p.expect == "merge" and p.decision is not None]
    false_blocks = sum(p.decision in ("defer", "split") and p.blocked != "unreviewed"
                       for p in expected)
    pulls = len({p.pull or p.id for p in prs})
    cost = sum(p.cost_usd for p in prs)
    return Report(
        dataset=dataset, mode=mode, reviewers=reviewers,
        same_issue=SameIssue(
            recall=round(total("same_merged") / same, 4) if same else 0.0,
            false_merge_rate=round(total("different_merged") / diff, 4) if diff else 0.0,
            same_pairs=same, different_pairs=diff),
        findings=Metric.of(total("correct"), total("clusters"), total("covered"), golden),
        corroborated=Metric.of(total("corroborated_correct"), total("corroborated"),
                               total("corroborated_covered"), golden),
        false_block_rate=round(false_blocks / len(expected), 4) if expected else None,
        merge_expected=len(expected), false_blocks=false_blocks,
        unreviewed_blocks=sum(p.blocked == "unreviewed" for p in expected),
        error_decisions=sum(p.decision == "error" for p in expected),
        cost_usd=round(cost, 6), paid_usd=round(sum(p.paid_usd for p in prs), 6),
        latency_s=round(sum(p.latency_s for p in prs), 3),
        pull_requests=pulls, cost_per_pr=_per(cost, pulls),
        tokens_in_per_pr=_per(total("tokens_in"), pulls, 1),
        tokens_out_per_pr=_per(total("tokens_out"), pulls, 1),
        seats=_seats(prs, golden, pulls, expected), prs=prs)
