"""Incremental rounds: after a push, review what changed since the previous round's head.

:func:`plan_round` decides whether a round reviews the **whole** pull request or only the
**incremental diff** (previous reviewed head -> new head). Incremental needs all of:

- a previous round that decided (``merge``, ``defer`` or ``split``) on a recorded head and base
  SHA, under the same configuration, with every file reviewed and its findings' reviewers
  recorded;
- the same merge base now (:attr:`reviewgate.core.changeset.ChangeSet.diff_base`: a new merge
  base changes what the whole pull request is; a push to the base branch that leaves the
  merge base as it was does not);
- the previous head an ancestor of the new head (no force-push or rebase), asked of the
  repository's history (:class:`History`: git locally, the forge's compare API in the gate);
- a non-empty diff between the two heads, under :data:`MAX_INCREMENTAL_SHARE` of the whole
  diff (a push that rewrites most of the pull request costs about as much either way, and the
  whole review is the complete one).

Otherwise the round is whole and :attr:`RoundPlan.reason` says why (so is a push that changes
only files the ``ignore`` globs leave out: :func:`reviewgate.ensemble.pipeline.plan_review`).
``--force`` (and a review without a previous round) is always whole. The decision still covers
the whole pull request: the previous round's open findings are carried
(:mod:`reviewgate.core.carry`). No network imports: the history is passed in.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from ..core.carry import CarriedFinding, number_carried
from ..core.changeset import ChangeSet, parse_unified_diff
from ..core.errors import ReviewgateError

__all__ = ["MAX_INCREMENTAL_SHARE", "History", "HistoryUnavailable", "PreviousRound",
           "RoundPlan", "plan_round"]

#: An incremental diff at least this share of the whole diff (in characters) is not worth it:
#: the round is whole.
MAX_INCREMENTAL_SHARE = 0.5


class HistoryUnavailable(ReviewgateError):
    """The repository's history cannot answer (a commit is missing, the forge refused)."""


class History(Protocol):
    """The repository's commit history, as the round planner needs it."""

    def is_ancestor(self, old: str, new: str) -> bool:
        """True when commit ``old`` is ``new`` or one of its ancestors.

        Raises:
            HistoryUnavailable: a commit is unknown or the history cannot be read.
        """
        ...

    def interdiff(self, old: str, new: str, paths: list[str]) -> str:
        """The unified diff from commit ``old`` to ``new`` (``git diff OLD NEW``); ``paths``
        are the files that may differ (the pull request's files then and now), for histories
        that diff file by file.

        Raises:
            HistoryUnavailable: the diff cannot be read.
        """
        ...


class PreviousRound(BaseModel):
    """What a round needs of the previous one: its head SHA and the commit its diff started
    from (``base_sha``: the merge base), decision, the configuration digest it ran under, its
    open findings, the files it could not review and the pull request's files then (paths).
    ``problem``: why it cannot be built upon (the round is whole)."""

    head_sha: str = ""
    base_sha: str = ""
    decision: str = ""
    config_digest: str = ""
    findings: list[CarriedFinding] = Field(default_factory=list)
    unreviewed: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    problem: str = ""


class RoundPlan(BaseModel):
    """How this round reviews: ``mode`` and why (``reason``), the commit range reviewed
    (``from_sha`` .. ``to_sha``: the base SHA for a whole round), the previous round's head and
    the carried findings (``C1``..; empty in a whole round). ``files`` is how many files the
    reviewed diff holds."""

    mode: Literal["whole", "incremental"] = "whole"
    reason: str = ""
    from_sha: str | None = None
    to_sha: str | None = None
    previous_head: str | None = None
    carried: list[CarriedFinding] = Field(default_factory=list)
    files: int = 0

    @property
    def incremental(self) -> bool:
        """True for an incremental round."""
        return self.mode == "incremental"

    def describe(self) -> str:
        """``commits abc1234..def5678, 3 files (incremental: ...)`` or ``whole pull request
        (...)``, as the decision comment shows it."""
        if self.incremental:
            return (f"commits {(self.from_sha or '')[:7]}..{(self.to_sha or '')[:7]}, "
                    f"{self.files} file(s) changed since the previous round")
        return f"the whole pull request ({self.reason})"


def _whole(change: ChangeSet, reason: str, previous: PreviousRound | None = None) -> RoundPlan:
    return RoundPlan(mode="whole", reason=reason, from_sha=change.diff_base,
                     to_sha=change.head_sha, files=len(change.files),
                     previous_head=previous.head_sha if previous else None)


#: git file modes an incremental diff built from file texts cannot show: a symlink, a submodule.
SPECIAL_MODES = ("120000", "160000")


def _special(change: ChangeSet) -> str | None:
    """A file of the pull request an incremental diff cannot show faithfully (a symlink, a
    submodule, a type change written as two sections of one path), or None."""
    counts = Counter(f.path for f in change.files)
    for f in change.files:
        if f.mode in SPECIAL_MODES or f.old_mode in SPECIAL_MODES:
            return f"{f.path} is a symlink or a submodule"
        if counts[f.path] > 1:
            return f"{f.path} changes type"
    return None


def _why_whole(change: ChangeSet, previous: PreviousRound, config_digest: str) -> str | None:
    """The reason a whole round is needed that the records alone show, or None."""
    if previous.problem:
        return previous.problem
    special = _special(change)
    if special is not None:
        return f"the pull request holds what an incremental diff cannot show ({special})"
    if not previous.head_sha or not change.head_sha:
        return "no head SHA recorded for the previous round or this one"
    if previous.head_sha == change.head_sha:
        return "same head SHA as the previous round"
    if previous.decision not in ("merge", "defer", "split"):
        return f"the previous round did not decide ({previous.decision or 'no decision'})"
    base = change.diff_base
    if not previous.base_sha or not base:
        return "no merge base recorded for the previous round or this one"
    if previous.base_sha != base:
        return f"the merge base moved ({previous.base_sha[:7]} -> {base[:7]})"
    if previous.config_digest and previous.config_digest != config_digest:
        return "the configuration changed since the previous round"
    if previous.unreviewed:
        return f"the previous round left {len(previous.unreviewed)} file(s) unreviewed"
    return None


def plan_round(change: ChangeSet, previous: PreviousRound | None, history: History | None, *,
               config_digest: str, force: bool = False,
               no_previous: str = "no previous round") -> tuple[RoundPlan, ChangeSet]:
    """The plan of this round and the change set its reviewers see (module docstring).

    Args:
        change: the whole pull request (base SHA .. head SHA).
        previous: the previous round, or None.
        history: asks ancestry and the incremental diff; None: only whole rounds.
        config_digest: the digest of the profile this round runs.
        force: always review the whole pull request.
        no_previous: the reason given when ``previous`` is None.

    Returns:
        ``(plan, reviewed)``: ``reviewed`` is ``change`` for a whole round, else a change set
        of the incremental diff with the same title, body and SHAs (norms are still read at
        the base SHA, context at the head SHA).
    """
    if force:
        return _whole(change, "--force reviews the whole pull request", previous), change
    if previous is None:
        return _whole(change, no_previous), change
    reason = ("no commit history to compare with (a diff file)" if history is None
              else _why_whole(change, previous, config_digest))
    if reason is not None:
        return _whole(change, reason, previous), change
    assert history is not None and change.head_sha is not None
    try:
        if not history.is_ancestor(previous.head_sha, change.head_sha):
            return _whole(change, f"force-push or rebase: {previous.head_sha[:7]} is not an "
                                  f"ancestor of {change.head_sha[:7]}", previous), change
        paths = sorted({f.path for f in change.files} | set(previous.files)
                       | {f.old_path for f in change.files if f.old_path})
        diff = history.interdiff(previous.head_sha, change.head_sha, paths)
    except HistoryUnavailable as exc:
        return _whole(change, f"no usable history: {exc}", previous), change
    files = parse_unified_diff(diff)
    if not files:
        return _whole(change, "no file changed since the previous round's head", previous), \
            change
    share = len(diff) / max(1, len(change.diff))
    if share >= MAX_INCREMENTAL_SHARE:
        return _whole(change, f"the push changes most of the pull request (its diff is "
                              f"{share:.0%} of the whole diff)", previous), change
    reviewed = change.model_copy(update={"diff": diff, "files": files})
    plan = RoundPlan(mode="incremental", reason="the previous head is an ancestor and the base "
                     "did not move", from_sha=previous.head_sha, to_sha=change.head_sha,
                     previous_head=previous.head_sha, carried=number_carried(previous.findings),
                     files=len(files))
    return plan, reviewed
