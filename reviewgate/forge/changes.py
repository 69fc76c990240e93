"""What changed, read through a forge's API: a pull request's change set, the paths that differ
between two commits' git trees, and the diff of two commits.

* :func:`read_change`: the pull request's unified diff, completed from the files API (a diff the
  forge refuses as too large is rebuilt from the files' ``patch`` fields); what the gate reviews
  and what ``reviewgate dataset build`` writes for a pull request's final head.
* :func:`tree_changes`: git's trees of two commits (``GET /repos/{o}/{r}/git/trees/{sha}``,
  Forgejo, Gitea and GitHub; a commit SHA names its root tree), walked into the subtrees whose
  ids differ only: every path that changed with its blob ids (what binds a diff to its commits,
  :mod:`reviewgate.gate.binding`).
* :func:`commit_diff`: the diff of two commits: the forge's own (GitHub's compare endpoint with
  the diff media type) or one built file by file from both commits' texts over the paths their
  trees say differ (Forgejo, Gitea: ``read_file`` at both SHAs,
  :func:`reviewgate.core.gittext.file_diff`).

References: git's tree objects (gitformat-index(5), git-cat-file(1)); "Get a tree" and "Compare
two commits" in the GitHub REST API; ``GetTree`` and ``repoCompareDiff`` in the Forgejo and Gitea
OpenAPI documents (``forge-api/``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.changeset import ChangeSet, FileChange, parse_unified_diff
from ..core.gittext import file_diff, patch_section, quote_path
from ..core.errors import ForgeError
from .base import Comparison, Forge, PullRequest, TreeEntry

__all__ = ["DIFF_REFUSED", "MAX_FILES", "MAX_TREES", "TreeChange", "commit_diff",
           "read_change", "tree_changes"]

#: Status codes with which a forge refuses the whole diff as too large (GitHub: 406 "the diff
#: exceeded the maximum number of files (300)" or lines (20,000), code ``too_large``; some
#: endpoints answer 422).
DIFF_REFUSED = (406, 413, 422)

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


#: Most trees read for one comparison (2 per changed directory, and the roots).
MAX_TREES = 2000


@dataclass(frozen=True)
class TreeChange:
    """One path that differs between two commits: the (mode, object id) on each side, or None
    where it does not exist (a tree on the other side counts as not existing)."""

    old: tuple[str, str] | None
    new: tuple[str, str] | None


def tree_changes(forge: Forge, old: str, new: str, *,
                 limit: int = MAX_TREES) -> dict[str, TreeChange]:
    """Every non-tree path (file, symlink, submodule) that differs between commits ``old``
    and ``new``, with its (mode, object id) on each side.

    Raises:
        ForgeError: a tree cannot be read, or more than ``limit`` trees would be read.
    """
    out: dict[str, TreeChange] = {}
    reads = 0

    def entries(sha: str | None) -> dict[str, TreeEntry]:
        nonlocal reads
        if sha is None:
            return {}
        reads += 1
        if reads > limit:
            raise ForgeError(f"more than {limit} directories changed: the diff cannot be "
                             "checked against the head")
        return {e.name: e for e in forge.tree(sha)}

    todo: list[tuple[str, str | None, str | None]] = [("", old, new)]
    while todo:
        prefix, a_sha, b_sha = todo.pop()
        a, b = entries(a_sha), entries(b_sha)
        for name in sorted(set(a) | set(b)):
            ea, eb = a.get(name), b.get(name)
            if ea is not None and eb is not None and (ea.sha, ea.mode) == (eb.sha, eb.mode):
                continue
            path = f"{prefix}{name}"
            a_tree = ea.sha if ea is not None and ea.type == "tree" else None
            b_tree = eb.sha if eb is not None and eb.type == "tree" else None
            if a_tree or b_tree:
                todo.append((path + "/", a_tree, b_tree))
            a_file = (ea.mode, ea.sha) if ea is not None and ea.type != "tree" else None
            b_file = (eb.mode, eb.sha) if eb is not None and eb.type != "tree" else None
            if a_file != b_file:
                out[path] = TreeChange(a_file, b_file)
    return out



#: Most files diffed one by one (two reads each) before a comparison is refused.
MAX_FILES = 300


def commit_diff(forge: Forge, old: str, new: str, *, comparison: Comparison | None = None,
                max_files: int = MAX_FILES) -> str:
    """The unified diff from commit ``old`` to commit ``new``: the forge's own when
    ``comparison`` carries one (GitHub's compare with the diff media type,
    :meth:`~reviewgate.forge.base.Forge.compare`), else built from each file's texts at both
    commits over exactly the paths git's trees of the two commits say differ
    (:func:`tree_changes`): neither Forgejo's compare list (each commit against its first
    parent) nor a name the raw endpoint cannot serve makes a file vanish. A file git holds
    that the raw endpoint does not give on a side (a submodule, a name that is not UTF-8), or
    that is binary, is written as a binary section: it counts as not reviewed. Bytes that are
    not UTF-8 stay lone surrogates: the parser marks the file undecodable (not reviewed),
    never "deleted" or "added".

    Raises:
        ForgeError: a tree or a file cannot be read, or more than ``max_files`` files differ.
        UnsafePath: a path the trees name is not a repository path (nothing is read for it).
    """
    if comparison is not None and comparison.diff is not None:
        return comparison.diff
    changes = tree_changes(forge, old, new)
    if len(changes) > max_files:
        raise ForgeError(f"{len(changes)} files to compare (limit {max_files})")
    sections = []
    for path in sorted(changes):
        change = changes[path]
        before = forge.read_file(path, old) if change.old else None
        after = forge.read_file(path, new) if change.new else None
        opaque = any(side is not None and side[0] in ("120000", "160000")
                     for side in (change.old, change.new))
        lost = (change.old is not None and before is None) or (
            change.new is not None and after is None)
        if opaque or lost or "\x00" in (before or "") or "\x00" in (after or ""):
            a, b = quote_path(f"a/{path}"), quote_path(f"b/{path}")
            sections.append(f"diff --git {a} {b}\nBinary files {a} and {b} differ\n")
            continue
        sections.append(file_diff(path, before, after))
    return "".join(sections)
