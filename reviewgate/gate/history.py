"""The forge's commit history for incremental rounds, and the previous round from the decision
comment's round history.

:class:`ForgeHistory` answers :class:`reviewgate.ensemble.incremental.History` with the forge's
compare API (:meth:`reviewgate.forge.base.Forge.compare`): ancestry from it, the incremental diff
from it when the forge serves one (GitHub), otherwise built file by file from the two commits'
texts over the files their git trees say differ (Forgejo, Gitea: ``read_file`` at both SHAs,
:func:`reviewgate.core.changeset.file_diff`).
Any forge error means "no usable history", so the round is whole.
"""

from __future__ import annotations

from ..core.carry import CarriedFinding, number_carried
from ..core.changeset import file_diff, quote_path
from ..core.errors import ForgeError
from ..core.paths import UnsafePath
from ..ensemble.incremental import HistoryUnavailable, PreviousRound
from ..forge.base import Comparison, Forge, safe_message
from ..publish.render import Round
from .binding import tree_changes

__all__ = ["ForgeHistory", "previous_from_rounds"]

#: Most files diffed one by one (two reads each) before the round is made whole instead.
MAX_FILES = 300


class ForgeHistory:
    """:class:`~reviewgate.ensemble.incremental.History` over a forge's API."""

    def __init__(self, forge: Forge):
        self.forge = forge
        self._seen: dict[tuple[str, str], Comparison] = {}

    def _compare(self, old: str, new: str) -> Comparison:
        if (old, new) not in self._seen:
            try:
                self._seen[(old, new)] = self.forge.compare(old, new)
            except ForgeError as exc:
                raise HistoryUnavailable(f"compare {old[:7]}...{new[:7]}: "
                                         f"{safe_message(exc)}") from None
        return self._seen[(old, new)]

    def is_ancestor(self, old: str, new: str) -> bool:
        """From the compare API (see the forge adapter's ``compare``).

        Raises:
            HistoryUnavailable: the forge cannot compare the commits.
        """
        return self._compare(old, new).ancestor

    def interdiff(self, old: str, new: str, paths: list[str]) -> str:
        """The forge's diff of the two commits (GitHub), or one built from each file's texts
        at both commits (Forgejo, Gitea), over exactly the files git's trees of the two commits
        say differ (:func:`reviewgate.gate.binding.tree_changes`): neither Forgejo's compare
        list (each commit against its first parent) nor a name the raw endpoint cannot serve
        makes a file vanish. A file git holds that the raw endpoint does not give on a side
        (a submodule, a name that is not UTF-8), or that is binary, is written as a binary
        section: it counts as not reviewed. ``paths`` is not needed here.

        Raises:
            HistoryUnavailable: the forge refused, a path is not a repository path, or more
                than :data:`MAX_FILES` files would be read.
        """
        comparison = self._compare(old, new)
        if comparison.diff is not None:
            return comparison.diff
        try:
            changes = tree_changes(self.forge, old, new)
        except ForgeError as exc:
            raise HistoryUnavailable(f"reading the trees: {safe_message(exc)}") from None
        if len(changes) > MAX_FILES:
            raise HistoryUnavailable(f"{len(changes)} files to compare (limit {MAX_FILES})")
        sections = []
        try:
            for path in sorted(changes):
                change = changes[path]
                before = self.forge.read_file(path, old) if change.old else None
                after = self.forge.read_file(path, new) if change.new else None
                opaque = any(side is not None and side[0] in ("120000", "160000")
                             for side in (change.old, change.new))
                lost = (change.old is not None and before is None) or (
                    change.new is not None and after is None)
                if opaque or lost or "\x00" in (before or "") or "\x00" in (after or ""):
                    a, b = quote_path(f"a/{path}"), quote_path(f"b/{path}")
                    sections.append(f"diff --git {a} {b}\nBinary files {a} and {b} differ\n")
                    continue
                # bytes that are not UTF-8 stay lone surrogates: the parser marks the file
                # undecodable (not reviewed), never "deleted" or "added"
                sections.append(file_diff(path, before, after))
        except UnsafePath as exc:
            raise HistoryUnavailable(f"not a repository path: {exc}") from None
        except ForgeError as exc:
            raise HistoryUnavailable(f"reading a file: {safe_message(exc)}") from None
        return "".join(sections)


def previous_from_rounds(rounds: list[Round]) -> PreviousRound | None:
    """The latest reviewed round of the history (overrides and older rounds without findings
    skipped) as :class:`PreviousRound`; None when there is none. A round written before
    incremental rounds existed comes back with ``problem`` set (the round will be whole)."""
    last = next((r for r in reversed(rounds) if r.findings is not None), None)
    if last is None:
        return None
    decision = last.decision.removesuffix(" (stale)")
    previous = PreviousRound(head_sha=last.head_sha, base_sha=last.merge_base,
                             decision=decision, config_digest=last.config,
                             unreviewed=list(last.unreviewed or []))
    try:
        findings = [CarriedFinding.from_tracked(i, f) for i, f in enumerate(last.findings or [])]
    except (ValueError, TypeError) as exc:
        previous.problem = f"the previous round's findings cannot be carried ({exc})"
        return previous
    previous.findings = number_carried(findings)
    return previous
