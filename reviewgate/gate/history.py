"""The forge's commit history for incremental rounds, and the previous round from the decision
comment's round history.

:class:`ForgeHistory` answers :class:`reviewgate.ensemble.incremental.History` with the forge's
compare API (:meth:`reviewgate.forge.base.Forge.compare`): ancestry from it, the incremental diff
from it when the forge serves one (GitHub), otherwise built file by file from the two commits'
texts over the files their git trees say differ (Forgejo, Gitea: ``read_file`` at both SHAs,
:func:`reviewgate.forge.changes.commit_diff`).
Any forge error means "no usable history", so the round is whole.
"""

from __future__ import annotations

from ..core.carry import CarriedFinding, number_carried
from ..core.errors import ForgeError
from ..core.paths import UnsafePath
from ..ensemble.incremental import HistoryUnavailable, PreviousRound
from ..forge.base import Comparison, Forge, safe_message
from ..forge.changes import MAX_FILES, commit_diff
from ..publish.render import Round

__all__ = ["ForgeHistory", "previous_from_rounds"]

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
        """The diff of the two commits (:func:`reviewgate.forge.changes.commit_diff`: the
        forge's own on GitHub, built from each file's texts over the paths git's trees say
        differ on Forgejo and Gitea). ``paths`` is not needed here.

        Raises:
            HistoryUnavailable: the forge refused, a path is not a repository path, or more
                than :data:`MAX_FILES` files would be read.
        """
        comparison = self._compare(old, new)
        try:
            return commit_diff(self.forge, old, new, comparison=comparison,
                               max_files=MAX_FILES)
        except UnsafePath as exc:
            raise HistoryUnavailable(f"not a repository path: {exc}") from None
        except ForgeError as exc:
            raise HistoryUnavailable(f"comparing {old[:7]}...{new[:7]}: "
                                     f"{safe_message(exc)}") from None


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
