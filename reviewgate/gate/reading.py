"""The pull request as it is read, bound to the head the gate posts on.

:func:`bound_change` reads the diff and every page of the files list (rebuilt from per-file
patches when the forge refuses the whole diff), reads the pull request again (a new head or merge
base: :class:`HeadMoved`) and checks the diff against git's trees of the merge base and the head
(:mod:`.binding`): the diff reviewed is the head's, whatever was pushed while it was read.
"""

from __future__ import annotations

from ..core.changeset import ChangeSet, FileChange, parse_unified_diff, patch_section
from ..core.errors import ForgeError, ReviewgateError
from ..forge.base import Forge, PullRequest
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


#: Status codes with which a forge refuses the whole diff as too large (GitHub: 406 "the diff
#: exceeded the maximum number of files (300)" or lines (20,000), code ``too_large``; some
#: endpoints answer 422).
DIFF_REFUSED = (406, 413, 422)
#: Reads of the diff before one that is not the head's (a push and a force-push back while it
#: was read, again and again) is an error.
READ_TRIES = 3


def read_change(forge: Forge, pr: PullRequest, label: str) -> ChangeSet:
    """The change set of the pull request: the forge's unified diff, completed from the files
    API (every page). A file missing from the diff is rebuilt from its ``patch`` when the
    forge gives one; without one (binary, too large, or a forge that refused the whole diff)
    it is listed with its counts and no hunk, so it counts as not reviewed. Files the forge
    counts (``changed_files``) but neither list holds count as not reviewed too ("over a file
    limit"), and so does a file whose lines in the diff differ from the files list's counts
    (``FileChange.mismatch``: the parse and the forge disagree on what changed).

    Raises:
        ForgeError: the diff or the files cannot be read (a refusal as too large excepted).
    """
    try:
        diff = forge.get_diff(pr.number)
    except ForgeError as exc:
        if exc.status_code not in DIFF_REFUSED:
            raise
        diff = ""
    files = parse_unified_diff(diff)
    seen = {f.path for f in files}
    parsed = {}
    for f in files:
        parsed.setdefault(f.path, []).append(f)
    sections = []
    for listed in forge.list_files(pr.number):
        if listed.filename in seen:
            mine = parsed.get(listed.filename, [])
            if (sum(f.added for f in mine), sum(f.removed for f in mine)) != (
                    listed.additions, listed.deletions):
                for f in mine:  # the forge counts other lines than the diff shows
                    f.mismatch = True
            continue
        seen.add(listed.filename)
        status = listed.status or "modified"
        if listed.patch:
            section = patch_section(listed.filename, listed.patch, status=status,
                                    old_path=listed.previous_filename or None)
            rebuilt = parse_unified_diff(section)
            if rebuilt:
                for f in rebuilt:  # bound by the files API's blob id; checked against its counts
                    f.new_blob = listed.sha.lower() if status not in ("removed",
                                                                       "deleted") else ""
                    f.mismatch = (f.added, f.removed) != (listed.additions, listed.deletions)
                sections.append(section)
                files.extend(rebuilt)
                continue
        # no patch: lines no one can see, or a binary file (listed with no lines); only a
        # rename or a deletion without lines has nothing to show
        hidden = listed.additions + listed.deletions > 0 or status not in (
            "renamed", "removed", "deleted")
        files.append(FileChange(path=listed.filename, status=status,
                                added=listed.additions, removed=listed.deletions,
                                missing="without a patch" if hidden else ""))
    unlisted = (pr.changed_files or 0) - len(seen)
    if unlisted > 0:  # the forge counts them, its lists never named them
        files.append(FileChange(path=f"({unlisted} more files the forge did not list)",
                                missing="over a file limit", added=unlisted))
    whole = ChangeSet.from_diff(diff + "".join(sections), title=pr.title, body=pr.body,
                                head_sha=pr.head_sha, base_sha=pr.base_sha,
                                merge_base=pr.merge_base or None, source=label)
    return whole.model_copy(update={"files": files})


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
