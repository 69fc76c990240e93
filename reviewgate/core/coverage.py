"""Coverage: which changed lines a quorum of ballots saw, and why the others were not seen.

DESIGN.md section 4, rule 8 ("Nothing merges unseen"): every changed line is either in the
pack of at least ``quorum`` non-abstaining ballots in every hat (in this round, or in an earlier
round whose findings are carried) or counted as not reviewed, with its cause. Lines the owners'
``ignore`` globs exclude are listed apart and stay outside the share; size exclusions
(lockfiles, generated files) change the size used by rule 5, never coverage.

One :class:`Ledger` is built where the change set and the packs are prepared
(:func:`build_ledger`) and recorded in ``decision.json``; :func:`measure` turns it and the
ballots into a :class:`Coverage`, which the decision, the comment and the round history carry.

Units are changed lines (``+`` and ``-`` lines of the unified diff). A file no reviewer can see
at all (binary, undecodable, without a patch) counts its changed lines, and at least one.
A pack holds a *prefix* of each file's hunks (the packer cuts at hunk boundaries, in order), so
``shown[seat][path]`` is a count of hunks. Imports: stdlib and pydantic only.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from .changeset import FileChange, file_keys

__all__ = ["CAUSES", "Coverage", "FileLedger", "Gap", "Ledger", "build_ledger", "measure"]

#: Why a changed line was not reviewed, in the order the comment lists them.
CAUSES = ("binary", "undecodable", "stored in Git LFS", "a submodule (another repository)",
          "moved out of an ignored path", "without a patch", "over a file limit",
          "inconsistent with the forge's file list",
          "redacted as an opaque value", "cut to the budget",
          "seen by fewer than quorum voting ballots")
#: Redactions (:mod:`reviewgate.context.redaction`) that hide an opaque value, which could be an
#: encoded payload the code decodes and runs: the line they are on was not seen as it is.
#: Redactions of a known key format at its real length (``github``, ``aws``, a PEM block with
#: its END line...) hide a credential whose shape says what it is, and do not count; a longer
#: token of such a format, a PEM block cut before its END, a URL password or an
#: ``Authorization`` value is ``opaque``.
OPAQUE = ("[REDACTED:key-material]", "[REDACTED:assigned]", "[REDACTED:jwt]",
          "[REDACTED:opaque]", "[REDACTED:url-password]", "[REDACTED:authorization]")
#: The first line of a Git LFS pointer file (https://github.com/git-lfs/git-lfs/blob/main/docs/
#: spec.md, and the pre-release ``hawser`` form git-lfs still reads): the diff shows the
#: pointer, never the object a checkout gets.
LFS_POINTERS = ("version https://git-lfs.github.com/spec/",
                "version https://hawser.github.com/spec/")


class FileLedger(BaseModel):
    """One changed file as the reviewers could see it: the changed lines of each hunk (diff
    order), or ``cause`` when no reviewer can see any of it (``binary``, ``undecodable``,
    ``stored in Git LFS``: the diff holds a pointer, ``without a patch``, ``over a file
    limit``) with ``lines`` counted for it (at least 1)."""

    path: str
    hunks: list[int] = Field(default_factory=list)
    cause: str = ""
    lines: int = 0
    key: str = ""
    redacted: list[int] = Field(default_factory=list)

    @property
    def changed(self) -> int:
        """The changed lines this file counts for."""
        return max(1, self.lines) if self.cause else sum(self.hunks)


class Gap(BaseModel):
    """Lines of one file that were not reviewed (or were ignored), and why."""

    path: str
    lines: int
    cause: str


class Ledger(BaseModel):
    """What could be seen, per file, and what each seat's pack held.

    ``files``: the reviewed change's files (the incremental diff in an incremental round).
    ``shown``: seat -> file key -> hunks of that file in the seat's pack (a prefix).
    ``ignored``: files the owners' ``ignore`` globs left out, with their lines.
    ``total``: changed lines of the whole pull request under review (ignored files excepted);
    in an incremental round the lines outside the incremental diff were reviewed by the earlier
    rounds (whose coverage was complete: :mod:`reviewgate.ensemble.incremental`).
    """

    files: list[FileLedger] = Field(default_factory=list)
    shown: dict[str, dict[str, int]] = Field(default_factory=dict)
    ignored: list[Gap] = Field(default_factory=list)
    total: int = 0


class Coverage(BaseModel):
    """The outcome: ``total`` changed lines under review, ``unreviewed`` of them not reviewed
    (``gaps``, each with its cause), and the ``ignored`` files listed apart."""

    total: int = 0
    unreviewed: int = 0
    gaps: list[Gap] = Field(default_factory=list)
    ignored: list[Gap] = Field(default_factory=list)

    @property
    def share(self) -> float:
        """Unreviewed lines over all changed lines under review (0..1)."""
        return self.unreviewed / self.total if self.total else 0.0

    @property
    def files(self) -> list[str]:
        """Paths with at least one unreviewed line, sorted."""
        return sorted({g.path for g in self.gaps})

    def by_cause(self) -> list[tuple[str, int, list[str]]]:
        """``(cause, lines, paths)`` per cause, in :data:`CAUSES` order, each path once."""
        out = []
        for cause in [*CAUSES, *sorted({g.cause for g in self.gaps} - set(CAUSES))]:
            gaps = [g for g in self.gaps if g.cause == cause]
            if gaps:
                out.append((cause, sum(g.lines for g in gaps),
                            sorted({g.path for g in gaps})))
        return out

    def describe(self) -> str:
        """``12 of 340 changed lines not reviewed (cut to the budget: 10; binary: 2)``."""
        parts = "; ".join(f"{cause}: {lines}" for cause, lines, _ in self.by_cause())
        return f"{self.unreviewed} of {self.total} changed lines not reviewed ({parts})"


def _file_cause(f: FileChange) -> str:
    if f.status == "binary":
        return "binary"
    if f.undecodable:
        return "undecodable"
    if f.unreadable:
        return f.missing or "without a patch"
    if any(line[:1] in " +" and line[1:].startswith(LFS_POINTERS)
           for h in f.hunks for line in h.lines):
        return "stored in Git LFS"
    if "160000" in (f.mode, f.old_mode) or any(
            line[1:].startswith("Subproject commit ") for h in f.hunks[:1] for line in h.lines):
        return "a submodule (another repository)"
    if f.mismatch:
        return "inconsistent with the forge's file list"
    return ""


def _units(f: FileChange) -> tuple[list[int], list[int]]:
    """Changed lines per hunk and, per hunk, how many of them hold a redaction; a file with no
    hunk (a rename, a mode change, an empty file) is one unit of one line: its header."""
    if not f.hunks:
        return [1], [0]
    changed = [[line for line in h.lines if line[:1] in "+-"] for h in f.hunks]
    return ([len(c) for c in changed],
            [sum(1 for line in c if any(o in line for o in OPAQUE)) for c in changed])


def build_ledger(files: list[FileChange], shown: dict[str, dict[str, int]], *,
                 ignored: list[FileChange] | None = None, total: int | None = None) -> Ledger:
    """The ledger of a reviewed change.

    Args:
        files: the changed files the reviewers were given (ignored files already removed).
        shown: seat -> file key (:func:`reviewgate.core.changeset.file_keys`) -> hunks of
            the file in that seat's pack (1 for a file without hunks whose header it holds).
        ignored: the files the owners' ``ignore`` globs removed.
        total: changed lines of the whole pull request, ignored files excepted (an
            incremental round); None: the lines of ``files``.
    """
    entries = []
    for f, key in zip(files, file_keys(files), strict=True):
        cause = _file_cause(f)
        hunks, redacted = ([], []) if cause else _units(f)
        entries.append(FileLedger(path=f.path, key=key, cause=cause, lines=f.changed,
                                  hunks=hunks, redacted=redacted))
    lines = sum(e.changed for e in entries)
    return Ledger(files=entries, shown=shown, total=max(lines, total or 0),
                  ignored=[Gap(path=f.path, lines=max(1, f.changed), cause="ignored")
                           for f in ignored or []])


def measure(ledger: Ledger, voting: dict[str, list[str]], quorum: int) -> Coverage:
    """Which lines of ``ledger`` a quorum of voting ballots saw, in every hat.

    Args:
        ledger: the round's ledger.
        voting: hat -> the seats whose ballot in that hat has a verdict (not ABSTAIN).
        quorum: voting ballots that must have seen a line, in every hat.

    Returns:
        the coverage; a hunk is reviewed when, in every hat, at least ``quorum`` voting
        seats had it in their pack. A hat with fewer voting seats than ``quorum`` reviews
        nothing (the decision is ``error`` then anyway).
    """
    gaps: list[Gap] = []
    for f in ledger.files:
        if f.cause:
            gaps.append(Gap(path=f.path, lines=f.changed, cause=f.cause))
            continue
        if not f.hunks:
            continue
        key = f.key or f.path
        # per hat: the quorum-th largest prefix of hunks among the voting seats' packs
        reviewed = len(f.hunks)
        for seats in voting.values():
            counts = sorted((ledger.shown.get(seat, {}).get(key, 0) for seat in seats),
                            reverse=True)
            reviewed = min(reviewed, counts[quorum - 1] if len(counts) >= quorum else 0)
        redacted = sum(f.redacted[:reviewed])
        if redacted:
            gaps.append(Gap(path=f.path, lines=redacted, cause="redacted as an opaque value"))
        missed = sum(f.hunks[reviewed:])
        if missed:
            everyone = [ledger.shown.get(seat, {}).get(key, 0)
                        for seats in voting.values() for seat in seats]
            cut = any(n < len(f.hunks) for n in everyone) or not everyone
            gaps.append(Gap(path=f.path, lines=missed, cause="cut to the budget" if cut
                            else "seen by fewer than quorum voting ballots"))
    unreviewed = sum(g.lines for g in gaps)
    return Coverage(total=max(ledger.total, unreviewed), unreviewed=unreviewed, gaps=gaps,
                    ignored=list(ledger.ignored))
