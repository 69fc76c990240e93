"""The diff the gate reviews belongs to the head it posts on: checked against git's own trees.

A forge serves a pull request's diff and files by pull-request *number*; a push (or a push and a
force-push back, within one second of ``updated_at``) between the reads can make them another
commit's. Git's trees are addressed by SHA: the gate walks the trees of the merge base and of
the head (``GET /repos/{o}/{r}/git/trees/{sha}``, Forgejo, Gitea and GitHub; a commit SHA names
its root tree), descending only into the subtrees whose ids differ, and gets every path that
changed with its blob ids. The diff must name exactly those paths, and each ``index OLD..NEW``
line must be a prefix of the blob ids there (``git diff`` abbreviates them). Anything else: the
diff is not the head's (or was not read as git wrote it), and nothing of it is reviewed.

References: git's tree objects (gitformat-index(5), git-cat-file(1)); "Get a tree" in the GitHub
REST API; ``GetTree`` in the Forgejo and Gitea OpenAPI documents (``forge-api/``).
"""

from __future__ import annotations

from collections import Counter

from ..core.changeset import FileChange
from ..forge.changes import MAX_TREES, TreeChange, tree_changes

__all__ = ["MAX_TREES", "TreeChange", "binding_problems", "tree_changes"]

_NO_BLOB = set("0")


def _matches(abbrev: str, side: tuple[str, str] | None) -> bool:
    """True when an ``index`` abbreviation names ``side``'s object (all zeros: no object)."""
    if set(abbrev) <= _NO_BLOB:
        return side is None
    return side is not None and side[1].lower().startswith(abbrev)


def binding_problems(files: list[FileChange], changes: dict[str, TreeChange]) -> list[str]:
    """Why ``files`` (the parsed diff) are not the changes ``changes`` (the trees) hold, or an
    empty list when they are: the same paths, and every ``index`` line naming the same blobs.

    Files without a section of the forge's diff (``missing``: listed, never shown) are counted
    as not reviewed elsewhere; they are checked only for being real changes.
    """
    problems: list[str] = []
    named: set[str] = set()
    sections = Counter(f.path for f in files)
    for f in files:
        if f.missing == "over a file limit":
            continue  # the placeholder for files the forge never listed
        named.add(f.path)
        renamed = bool(f.old_path and f.old_path != f.path and f.status in ("renamed",
                                                                             "deleted"))
        if renamed:
            named.add(f.old_path or "")
        new, old = changes.get(f.path), changes.get(f.old_path or f.path)
        if f.old_blob and f.new_blob:
            # a type change is a deletion and an addition of one path: each checks its side
            type_change = sections[f.path] > 1
            if new is not None and not (type_change and set(f.new_blob) <= _NO_BLOB) and \
                    not _matches(f.new_blob, new.new):
                problems.append(f"{f.path}: the diff's blob {f.new_blob} is not the head's")
            if old is not None and not (type_change and set(f.old_blob) <= _NO_BLOB) and \
                    not _matches(f.old_blob, old.old):
                problems.append(f"{f.path}: the diff's blob {f.old_blob} is not the base's")
        elif f.new_blob:  # the files API's blob id (a section rebuilt from its patch)
            if new is not None and not _matches(f.new_blob, new.new):
                problems.append(f"{f.path}: the files list's blob is not the head's")
        elif f.unreadable:
            pass  # listed, never shown: counted as not reviewed (its path is checked above)
        elif f.hunks:
            problems.append(f"{f.path}: a section with changed lines but no index line")
        elif new is not None or old is not None:
            # no index line: a pure rename or a mode change, which git writes only when the
            # content is the same on both sides; the trees must say so
            before = old.old if old is not None else None
            after = new.new if new is not None else None
            if renamed and (before is None or after is None or before[1] != after[1]):
                problems.append(f"{f.path}: shown as a pure rename, but its content changed")
            elif not renamed and before is not None and after is not None and \
                    before[1] != after[1]:
                problems.append(f"{f.path}: shown as a mode change, but its content changed")
    missing = sorted(set(changes) - named)
    extra = sorted(p for p in named - set(changes))
    if missing:
        problems.append(f"{len(missing)} changed file(s) missing from the diff: "
                        + ", ".join(missing[:5]))
    if extra:
        problems.append(f"{len(extra)} file(s) in the diff that did not change: "
                        + ", ".join(extra[:5]))
    return problems
