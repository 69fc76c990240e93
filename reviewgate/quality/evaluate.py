"""``reviewgate eval``: measure consolidation and review quality on a dataset.

Two modes:

* **recorded** (``--recorded A,B,C``): the recorded findings of each named reviewer become one
  seat's ballot (hat ``review``; vote NOT_OK when it has findings, severity ``medium``); the
  consolidation and the decision run as in a live review, no model is called, and the clusters
  are scored against the golden labels (:mod:`reviewgate.quality.scoring`).
* **live**: the configured profile reviews every pull request that has a ``diff`` (a file
  inside the dataset's folder, or a URL with ``allow_urls``: :mod:`reviewgate.quality.sources`);
  each consolidated cluster is matched to the golden comments by the deterministic matcher below or
  by a judge seat (``--judge SEAT``: one ``{"match": bool}`` question per cluster and golden
  comment), then scored; the golden comments found and missed, why an entry did not merge
  (its findings and votes, only its unreviewed lines, or an ``error``), cost, tokens and
  latency are added, per entry and per seat (:mod:`reviewgate.quality.scoring`). Ballots come
  from the verdict cache when it holds them, so a second run of a dataset calls no model.

The deterministic matcher is the consolidation's own similarity (:mod:`reviewgate.core.consolidate`)
between a cluster's text and each golden comment (and their locations, when the golden comment
keeps where it was written): a match at :data:`MATCH_THRESHOLD` or above.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from pydantic import BaseModel

from ..ensemble.questions import AskError, ask_seat
from ..core.changeset import ChangeSet, parse_unified_diff
from ..core.config import Config, Policy, SeatConfig
from ..core.consolidate import Item, similarity_matrix
from .dataset import Dataset, EvalPR
from .sources import diff_source, read_diff
from ..core.decision import Cluster, decide
from ..core.errors import UserError
from ..context.prompts import Prompter
from ..providers import Provider
from .scoring import ClusterOutcome, PRScore, Report, SeatScore, score_pr, summarize
from ..core.verdict import Ballot, Finding, Verdict

if TYPE_CHECKING:
    from ..ensemble.record import Record

__all__ = ["MATCH_THRESHOLD", "evaluate_live", "evaluate_recorded", "match_golden",
           "recorded_ballots"]

#: Similarity (0..1) at which the deterministic matcher says a cluster names a golden comment.
MATCH_THRESHOLD = 0.2
#: The hat recorded findings are filed under.
RECORDED_HAT = "review"

Progress = Callable[[str, int, int], None]


def _finding(text: str, location: str) -> Finding:
    title = text.strip().split("\n", 1)[0]
    if len(title) > 200:
        title = title[:199] + "…"
    return Finding(severity="medium", title=title or "(empty)", location=location[:300],
                   detail=text[:2000], recommendation="")


def recorded_ballots(pr: EvalPR, reviewers: list[str]) -> list[Ballot]:
    """One ballot per reviewer holding its recorded findings in order (no bound on their
    number: recorded tools may list more than a model's eight)."""
    ballots = []
    for reviewer in reviewers:
        findings = [_finding(f.text, f.location) for f in pr.recorded.get(reviewer, [])]
        verdict = Verdict.model_construct(
            vote="NOT_OK" if findings else "OK", confidence=0.5,
            summary=f"{len(findings)} recorded findings", risks=findings, opportunities=[],
            split=False, suggested_split=[], questions=[])
        ballots.append(Ballot(seat=reviewer, hat=RECORDED_HAT, provider="recorded",
                              model=reviewer, vote=verdict.vote, verdict=verdict))
    return ballots


def evaluate_recorded(dataset: Dataset, reviewers: list[str], *, policy: Policy | None = None,
                      on_progress: Progress | None = None) -> Report:
    """Score the consolidation of recorded findings of ``reviewers`` (no model call).

    Raises:
        UserError: a reviewer has no recorded findings anywhere in the dataset.
    """
    known = set(dataset.reviewers)
    unknown = [r for r in reviewers if r not in known]
    if unknown:
        raise UserError(f"no recorded findings for {', '.join(unknown)} in {dataset.name or 'the'}"
                        f" dataset; reviewers present: {', '.join(sorted(known))}")
    policy = policy or Policy()
    scores = []
    for n, pr in enumerate(dataset.prs, 1):
        ballots = recorded_ballots(pr, reviewers)
        decision = decide(ballots, policy, hats=[RECORDED_HAT], changed_lines=0,
                          changed_files=0)
        labels = {(r, i): f.golden for r in reviewers
                  for i, f in enumerate(pr.recorded.get(r, []))}
        outcomes = []
        for cluster in decision.clusters:
            members = [(m.seat, labels[(m.seat, m.index)]) for m in cluster.members]
            outcomes.append(ClusterOutcome(
                title=cluster.title, seats=cluster.seats, members=members,
                matched=sorted({g for _, g in members if g is not None})))
        score = score_pr(pr.id, [g.id for g in pr.golden], outcomes,
                         decision=decision.decision, expect=pr.expect)
        score.consolidated_by = decision.consolidated_by
        scores.append(score)
        if on_progress:
            on_progress(pr.id, n, len(dataset.prs))
    return summarize(scores, dataset=dataset.name, mode="recorded", reviewers=list(reviewers))


def _cluster_text(cluster: Cluster) -> str:
    return " ".join(f"{m.finding.title}. {m.finding.detail}" for m in cluster.members)


def match_golden(clusters: list[Cluster], pr: EvalPR) -> list[list[str]]:
    """The golden ids each cluster names, by text similarity (deterministic, offline)."""
    if not clusters or not pr.golden:
        return [[] for _ in clusters]
    items = [Item(ballot=f"golden-{g.id}", text=g.comment, location=g.location)
             for g in pr.golden]
    items += [Item(ballot=f"cluster-{k}", text=_cluster_text(c), location=c.location)
              for k, c in enumerate(clusters)]
    sim = similarity_matrix(items)
    g = len(pr.golden)
    return [[pr.golden[j].id for j in range(g) if sim[g + k][j] >= MATCH_THRESHOLD]
            for k in range(len(clusters))]


def blocked_by(record: Record) -> str | None:
    """Why a reviewed entry did not merge: ``error``; ``unreviewed`` when the same ballots
    with every line seen would merge (only the lines no quorum saw deferred it, DESIGN.md
    section 4 rule 8); ``findings`` for any other deferral or split (findings and votes);
    None when it merged."""
    d = record.decision
    if d.decision == "merge":
        return None
    if d.decision == "error":
        return "error"
    if d.coverage.unreviewed and d.coverage.share > d.policy.max_unreviewed_share:
        seen = decide(record.ballots, d.policy, hats=list(record.config.profile.hats),
                      changed_lines=d.changed_lines, changed_files=d.changed_files,
                      groups=d.groups, consolidated_by=d.consolidated_by)
        if seen.decision == "merge":
            return "unreviewed"
    return "findings"


def _seat_scores(record: Record, outcomes: list[ClusterOutcome]) -> dict[str, SeatScore]:
    """Per seat of the profile: golden ids its clusters matched, its votes, tokens, cost."""
    seats = {s.name: SeatScore() for s in record.config.profile.seats}
    for outcome in outcomes:
        for name in set(outcome.seats):
            if name in seats:
                seats[name].found = sorted(set(seats[name].found) | set(outcome.matched))
    for b in record.ballots:
        seat = seats.setdefault(b.seat, SeatScore())
        seat.voted_against |= b.vote == "NOT_OK"
        seat.tokens_in += b.tokens_in
        seat.tokens_out += b.tokens_out
        seat.cost_usd = round(seat.cost_usd + b.cost_usd, 8)
    return seats


class Judgement(BaseModel):
    """A judge seat's answer: does the finding name the known issue."""

    match: bool


async def _judge(clusters: list[Cluster], pr: EvalPR, seat: SeatConfig, prompter: Prompter,
                 provider: Provider | None) -> tuple[list[list[str]], float, list[str]]:
    """Ask ``seat`` about every (cluster, golden) pair; failed questions count as no match and
    are reported. Returns matches, cost in USD and the errors."""
    errors: list[str] = []
    cost = 0.0

    async def one(cluster: Cluster, golden_id: str, comment: str) -> bool:
        nonlocal cost
        text = _cluster_text(cluster)
        prompter.fence_safe_texts([text, comment])
        messages = [{"role": "user", "content": prompter.render(
            "judge.j2", golden=comment, finding=text, nonce=prompter.nonce)}]
        try:
            asked = await ask_seat(seat, messages, Judgement, what="judgement",
                                   provider=provider)
        except AskError as exc:
            errors.append(f"{golden_id}: {exc}")
            return False
        cost += asked.cost_usd
        return asked.value.match

    results = []
    for cluster in clusters:
        verdicts = await asyncio.gather(*(one(cluster, g.id, g.comment) for g in pr.golden))
        results.append([g.id for g, ok in zip(pr.golden, verdicts, strict=True) if ok])
    return results, cost, errors


def evaluate_live(dataset: Dataset, *, config: Config, profile_name: str | None = None,
                  judge: str | None = None, providers: dict[str, Provider] | None = None,
                  on_progress: Progress | None = None, allow_urls: bool = False) -> Report:
    """Review every pull request with a ``diff`` using the configured profile, and score it.

    Args:
        dataset: the loaded dataset.
        config, profile_name: what reviews.
        judge: a seat name of the profile that judges matches (None: deterministic matcher).
        providers: seat name -> provider instead of building them (tests).
        on_progress: called with (pull request id, done, total).
        allow_urls: fetch ``diff`` entries that are URLs (``--allow-urls``); otherwise they
            are refused. Files are read only inside the dataset's folder
            (:mod:`reviewgate.quality.sources`).

    Raises:
        UserError: no pull request has a diff, or the judge is not a seat of the profile.
        InputError: a ``diff`` entry is refused or cannot be read (every entry is checked
            before the first model call; the message names the pull request and why).
    """
    from ..ensemble.pipeline import review_change

    name, profile = config.profile(profile_name)
    judge_seat = None
    if judge is not None:
        judge_seat = next((s for s in profile.seats if s.name == judge), None)
        if judge_seat is None:
            raise UserError(f"--judge {judge}: not a seat of profile {name!r} "
                            f"({', '.join(s.name for s in profile.seats)})")
    todo = [pr for pr in dataset.prs if pr.diff]
    if not todo:
        raise UserError("no pull request of the dataset has a 'diff': live runs need one "
                        "(or use --recorded)")
    folder = dataset.path.parent if dataset.path else Path.cwd()
    sources = [diff_source(folder, pr.id, pr.diff or "", allow_urls=allow_urls) for pr in todo]
    prompter = Prompter(templates_dir=config.templates_dir, personas_dir=config.personas_dir)
    scores: list[PRScore] = []
    for n, (pr, source) in enumerate(zip(todo, sources, strict=True), 1):
        text = read_diff(source, pr.id)
        change = ChangeSet(title=pr.title, body=pr.body or "", diff=text,
                           files=parse_unified_diff(text), source=f"eval {pr.id}")
        record = review_change(change, config=config, profile_name=name, providers=providers)
        clusters = record.decision.clusters
        judge_cost = 0.0
        errors: list[str] = []
        if judge_seat is not None:
            matched, judge_cost, errors = asyncio.run(_judge(
                clusters, pr, judge_seat, prompter, (providers or {}).get(judge_seat.name)))
        else:
            matched = match_golden(clusters, pr)
        outcomes = [ClusterOutcome(title=c.title, seats=c.seats, matched=m)
                    for c, m in zip(clusters, matched, strict=True)]
        score = score_pr(pr.id, [g.id for g in pr.golden], outcomes,
                         decision=record.decision.decision, expect=pr.expect)
        score.consolidated_by = record.decision.consolidated_by
        score.pull = pr.pull
        score.blocked = blocked_by(record)
        score.seats = _seat_scores(record, outcomes)
        score.tokens_in = sum(b.tokens_in for b in record.ballots)
        score.tokens_out = sum(b.tokens_out for b in record.ballots)
        score.cost_usd = round(sum(b.cost_usd for b in record.ballots) + judge_cost, 6)
        score.paid_usd = round(record.usage.cost_usd + judge_cost, 6)
        score.latency_s = record.usage.wall_s
        if errors:
            score.error = f"{len(errors)} judge questions failed; first: {errors[0]}"
        scores.append(score)
        if on_progress:
            on_progress(pr.id, n, len(todo))
    return summarize(scores, dataset=dataset.name, mode="live",
                     reviewers=[s.name for s in profile.seats])
