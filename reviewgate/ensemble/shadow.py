"""Shadow replay: decide again from stored ballots under another policy, calling no model.

``reviewgate replay decision.json --config other.toml`` is how a policy is tried before it is
turned on: quorum, blockers, split thresholds, the unreviewed share and the consolidation can
all change; the ballots are the recorded ones. A consolidation by a seat cannot be asked again:
a recorded seat grouping is reused when the new policy names the same seat, otherwise the
deterministic grouping decides (and the result says so). Imports: stdlib, pydantic and the core
modules only; no network library.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from ..core.config import Policy
from ..core.decision import Decision, decide
from ..core.errors import InputError
from .record import Record, load_record

__all__ = ["Shadow", "load_records", "shadow_decide"]


class Shadow(BaseModel):
    """One record decided again: the recorded and the new decision, and what changed."""

    source: str
    title: str
    before: Decision
    after: Decision

    @property
    def flipped(self) -> bool:
        """True when the decision (merge, defer, split, error) changed."""
        return self.before.decision != self.after.decision

    @property
    def reasons_added(self) -> list[str]:
        """Reasons the new decision gives that the recorded one did not."""
        return [r for r in self.after.reasons if r not in self.before.reasons]

    @property
    def reasons_removed(self) -> list[str]:
        """Reasons of the recorded decision that no longer hold."""
        return [r for r in self.before.reasons if r not in self.after.reasons]


def shadow_decide(record: Record, policy: Policy, *, source: str = "") -> Shadow:
    """Decide ``record`` again under ``policy`` (pure; no model call)."""
    before = record.decision
    groups, by = None, "deterministic"
    if before.consolidated_by.startswith("seat:") and policy.consolidate == before.consolidated_by:
        groups, by = before.groups, before.consolidated_by
    elif policy.consolidate.startswith("seat:"):
        by = f"deterministic ({policy.consolidate} is not asked again in a replay)"
    after = decide(record.ballots, policy, hats=record.config.profile.hats,
                   changed_lines=record.input.changed_lines,
                   changed_files=record.input.changed_files, groups=groups,
                   consolidated_by=by, ledger=record.input.coverage_ledger(policy.size_exclude),
                   carried=record.input.round.carried if record.input.round.incremental else None)
    return Shadow(source=source, title=record.input.title, before=before, after=after)


def load_records(path: str | Path) -> list[tuple[str, Record]]:
    """One ``decision.json``, or every ``*.json`` decision record in a folder (sorted by name).

    Raises:
        InputError: the path is missing, a file is not a decision record, or a folder has none.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.glob("*.json") if p.is_file())
        if not files:
            raise InputError(f"{path} holds no *.json decision records")
        return [(str(f), load_record(f)) for f in files]
    return [(str(path), load_record(path))]
