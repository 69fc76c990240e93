"""What a review reads from the repository besides the diff: norms, file texts, instructions.

The reads go through a :data:`FileReader` ``(path, ref) -> text | None`` so the same code serves
gate mode (the forge API at a commit: :meth:`reviewgate.forge.base.RestForge.read_file`, never a
checkout of the pull request) and ``--git`` mode (``git show REF:PATH``). Norms are read at the
**base** SHA only (a pull request cannot rewrite the rules it is judged by); changed files at the
**head** SHA. No network imports.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from ..core.changeset import (ChangeSet, file_diff, matches, matches_file,
                              parse_unified_diff)
from ..core.config import Config
from .packing import PathInstructionShown
from .excerpts import priority
from ..core.paths import UnsafePath, check_repo_path

#: Bytes that were not UTF-8, kept as lone surrogates by the readers.
_SURROGATE = re.compile("[\udc80-\udcff]")

__all__ = ["FileReader", "RepoContext", "apply_ignore", "gather", "out_of_ignored",
           "path_instructions"]

#: Files read at once (each read is one forge request or one ``git cat-file``).
READERS = 8
#: ``reader(path, ref)``: the file's text at commit ``ref``, or None when it does not exist
#: there (or is binary or too large). Errors other than "not found" raise.
FileReader = Callable[[str, str], "str | None"]


@dataclass
class RepoContext:
    """What was read: ``norms`` text (with a heading per file) and the files it came from,
    ``sources`` (path -> post-change text) and ``unread`` changed files whose text was not read
    (over ``max_files``/``max_file_bytes``, binary, or a read error: path -> reason)."""

    norms: str = ""
    norms_files: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    unread: dict[str, str] = field(default_factory=dict)


def apply_ignore(change: ChangeSet, globs: list[str]) -> tuple[ChangeSet, list[str]]:
    """``change`` without the files matching ``globs`` (gitignore-style), and their paths.
    A rename or copy is ignored only when its old path matches too: moving a source file into
    an ignored folder removes it from where it was, and that is reviewed. The diff text keeps
    only the remaining files' sections."""
    if not globs:
        return change, []
    ignored = [f.path for f in change.files if matches_file(f.path, globs)
               and (not f.old_path or matches_file(f.old_path, globs))]
    if not ignored:
        return change, []
    dropped = set(ignored)
    kept = [f for f in change.files if f.path not in dropped]
    diff = "".join(f.text for f in kept) if all(f.text for f in kept) else change.diff
    return change.model_copy(update={"files": kept, "diff": diff}), ignored


def out_of_ignored(change: ChangeSet, globs: list[str],
                   reader: FileReader | None) -> ChangeSet:
    """``change`` with every file renamed out of an ``ignore``d path shown whole: its content
    was never reviewed where it was (the owners ignored it there), so a rename (with or without
    changes) is shown as the addition of the file read at the head SHA. When it cannot be read
    (no reader, a ``--diff`` review), the file counts as not reviewed."""
    moved = [f for f in change.files if f.old_path and f.old_path != f.path
             and matches_file(f.old_path, globs) and not matches_file(f.path, globs)]
    if not globs or not moved:
        return change
    files = []
    for f in change.files:
        if f not in moved:
            files.append(f)
            continue
        text = None
        if reader is not None and change.head_sha:
            try:
                text = reader(check_repo_path(f.path), change.head_sha)
            except Exception:  # noqa: BLE001 - unreadable: not reviewed, below
                text = None
        added = parse_unified_diff(file_diff(f.path, None, text)) if text is not None else []
        if added:
            files.extend(added)
        else:
            files.append(f.model_copy(update={"missing": "moved out of an ignored path",
                                              "added": max(1, f.added)}))
    diff = "".join(f.text for f in files) if all(f.text for f in files) else change.diff
    return change.model_copy(update={"files": files, "diff": diff})


def path_instructions(change: ChangeSet, config: Config) -> list[PathInstructionShown]:
    """The ``[[path_instructions]]`` entries matching at least one changed file, with the
    files each applies to."""
    out = []
    for entry in config.path_instructions:
        files = [f.path for f in change.files if matches(f.path, [entry.path])]
        if files:
            out.append(PathInstructionShown(path=entry.path, instructions=entry.instructions,
                                            files=files))
    return out


def gather(change: ChangeSet, config: Config, reader: FileReader | None, *,
           exclude: list[str]) -> RepoContext:
    """Read the norms at the base SHA and the changed files at the head SHA.

    Files are read in packing priority (source, tests, docs, the rest), at most
    ``config.context.max_files``; lockfiles/generated files (``exclude``), deleted and binary
    files are never read. Up to :data:`READERS` files are read at once. A reader error on one
    file skips that file (recorded in ``unread``); norms that cannot be read are skipped the
    same way.
    """
    out = RepoContext()
    if reader is None or not config.context.enabled:
        return out
    ctx = config.context
    if change.base_sha and ctx.norms_max_chars:
        parts = []
        for path in ctx.norms_files:
            try:
                text = reader(path, change.base_sha)
            except Exception:  # noqa: BLE001 - a missing norms file never fails a review
                text = None
            if text and "\x00" not in text and not _SURROGATE.search(text) and text.strip():
                parts.append(f"From {path}:\n{text.strip()}\n")
                out.norms_files.append(path)
        norms = "\n".join(parts)
        if len(norms) > ctx.norms_max_chars:
            norms = norms[:ctx.norms_max_chars] + "\n[... norms cut ...]\n"
        out.norms = norms
    if not change.head_sha:
        return out
    wanted = sorted((f for f in change.files if f.status not in ("deleted", "binary")
                     and f.hunks and not matches(f.path, exclude)),
                    key=lambda f: priority(f.path))
    for f in wanted[ctx.max_files:]:
        out.unread[f.path] = f"over context.max_files ({ctx.max_files})"
    head = change.head_sha

    def read(path: str) -> str | BaseException | None:
        try:
            return reader(check_repo_path(path), head)
        except Exception as exc:  # noqa: BLE001 - one unreadable file never fails a review
            return exc

    chosen = wanted[:ctx.max_files]
    with ThreadPoolExecutor(max_workers=READERS) as pool:  # reads are I/O: forge or git
        texts = list(pool.map(read, [f.path for f in chosen]))
    for f, text in zip(chosen, texts, strict=True):
        if isinstance(text, UnsafePath):
            out.unread[f.path] = f"not read: {text.reason}"
        elif isinstance(text, BaseException):
            out.unread[f.path] = f"read failed: {type(text).__name__}"
        elif text is None:
            out.unread[f.path] = "not found at the head SHA"
        elif len(text.encode("utf-8", "replace")) > ctx.max_file_bytes or "\x00" in text:
            out.unread[f.path] = "binary or over context.max_file_bytes"
        elif _SURROGATE.search(text):
            out.unread[f.path] = "not UTF-8 text"
        else:
            out.sources[f.path] = text
    return out
