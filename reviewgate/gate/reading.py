"""The pull request as it is read, bound to the head the gate posts on.

:func:`bound_change` reads the diff and every page of the files list
(:func:`reviewgate.forge.changes.read_change`: rebuilt from per-file patches when the forge
refuses the whole diff), reads the pull request again (a new head or merge
base: :class:`HeadMoved`) and checks the diff against git's trees of the merge base and the head
(:mod:`.binding`): the diff reviewed is the head's, whatever was pushed while it was read.
"""

from __future__ import annotations

from ..core.changeset import ChangeSet
from ..core.errors import ForgeError, ReviewgateError
from ..forge.base import Forge, PullRequest
from ..forge.changes import DIFF_REFUSED, read_change
from .binding import binding_problems, tree_changes

__all__ = ["DIFF_REFUSED", "READ_TRIES", "HeadMoved", "bound_change", "read_change"]


class HeadMoved(ReviewgateError):
    """The pull request's head or merge base changed while the gate read its diff: what was
    read may belong to another commit, so nothing read is reviewed (``pr``: the new state)."""

    def __init__(self, old: PullRequest, new: PullRequest):
        super().__init__(f"the head moved from {old.head_sha[:12]} to {new.head_sha[:12]} "
                         f"(merge base {old.merge_base[:12] or '?'} -> "
                         f"{new.merge_base[:12] or '?'}) while its diff was read")
        self.pr = new


#: Reads of the diff before one that is not the head's (a push and a force-push back while it
#: was read, again and again) is an error.
READ_TRIES = 3


def bound_change(forge: Forge, pr: PullRequest, label: str) -> tuple[PullRequest, ChangeSet]:
    """The change set of ``pr``'s head against its merge base, bound to them: the pull request
    is read again after its diff and files (a new head or merge base raises :class:`HeadMoved`:
    what was read may belong to another commit), then the diff is checked against git's trees
    of the two commits (:mod:`reviewgate.gate.binding`): the same paths, the same blob ids in
    its ``index`` lines. A diff that is not the head's (a push and a force-push back while it
    was read) is read again.

    Raises:
        HeadMoved: the head or the merge base changed.
        ForgeError: a read failed, or the diff was not the head's for :data:`READ_TRIES`
            reads ("not reviewed").
    """
    changes = None
    problems: list[str] = []
    for _ in range(READ_TRIES):
        change = read_change(forge, pr, label)
        now = forge.get_pull(pr.number)
        if (now.head_sha, now.merge_base) != (pr.head_sha, pr.merge_base):
            raise HeadMoved(pr, now)
        if changes is None:
            changes = tree_changes(forge, pr.merge_base or pr.base_sha, pr.head_sha)
        problems = binding_problems(change.files, changes)
        if not problems:
            return now, change
        pr = now
    raise ForgeError(f"not reviewed: the diff pull request #{pr.number} serves is not "
                     f"{pr.head_sha[:12]}'s ({'; '.join(problems[:3])[:300]})")
