"""Change sets from the command line's inputs: a local git range or a unified diff file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import InputError

if TYPE_CHECKING:
    from ..core.changeset import ChangeSet
    from ..ensemble.incremental import PreviousRound

__all__ = ["GitHistory", "change_from_diff", "change_from_git", "git_reader", "previous_round"]


def _git(*args: str) -> str:
    """git's output as text; bytes that are not UTF-8 (a Latin-1 file in a diff) are kept as
    lone surrogates (:func:`reviewgate.core.changeset.decode_diff`) so the diff parser marks
    their file undecodable.

    Raises:
        InputError: git is missing or failed.
    """
    try:
        out = subprocess.run(["git", *args], capture_output=True, check=True)
    except FileNotFoundError:
        raise InputError("git is not installed") from None
    except subprocess.CalledProcessError as exc:
        stderr = exc.stderr.decode("utf-8", "replace").strip()
        raise InputError(f"git {' '.join(args)} failed: {stderr}") from None
    return out.stdout.decode("utf-8", "surrogateescape")


def git_reader(path: str, ref: str, git_dir: str | None = None) -> str | None:
    """The text of ``path`` at commit ``ref`` (``git cat-file blob REF:PATH``) in the working
    directory's repository, or in ``git_dir``; None when it does not exist there. Bytes that
    are not UTF-8 come back as lone surrogates (as the forge readers return them).

    Raises:
        UnsafePath: ``path`` is not a normalized relative repository path (git is not run).
    """
    from ..core.paths import check_repo_path

    check_repo_path(path)
    where = ["--git-dir", git_dir] if git_dir else []
    try:
        out = subprocess.run(["git", *where, "cat-file", "blob", f"{ref}:{path}"],
                             capture_output=True, check=False, timeout=30)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.decode("utf-8", "surrogateescape")


def change_from_git(spec: str) -> ChangeSet:
    """A change set from a local git range ``BASE..HEAD`` (or ``BASE...HEAD``: from the merge
    base). Title and body come from HEAD's commit message."""
    from ..core.changeset import ChangeSet
    from ..core.extract import replace_surrogates

    if "..." in spec:
        base, head = spec.split("...", 1)
        base = _git("merge-base", base, head or "HEAD").strip()
    elif ".." in spec:
        base, head = spec.split("..", 1)
    else:
        raise InputError(f"--git expects BASE..HEAD, got {spec!r}")
    head = head or "HEAD"
    try:
        base_sha = _git("rev-parse", "--verify", f"{base}^{{commit}}").strip()
    except InputError:
        try:
            single = _git("rev-list", "--count", head).strip() == "1"
        except InputError:
            single = False
        if single:
            raise InputError(f"the repository has a single commit, so {base} does not exist; "
                             "review that commit with: git show --format= HEAD | reviewgate "
                             "review --diff -") from None
        raise
    head_sha = _git("rev-parse", "--verify", f"{head}^{{commit}}").strip()
    diff = _git("diff", "--no-color", "--no-ext-diff", base_sha, head_sha)
    title = _git("log", "-1", "--format=%s", head_sha).strip()
    body = _git("log", "-1", "--format=%b", head_sha).strip()
    return ChangeSet.from_diff(diff, title=replace_surrogates(title),
                               body=replace_surrogates(body), base_sha=base_sha,
                               head_sha=head_sha, source=f"git {spec}")


def change_from_diff(path: str) -> ChangeSet:
    """A change set from a unified diff file (``-``: standard input)."""
    from ..core.changeset import ChangeSet, decode_diff

    try:
        if path == "-":
            stream = getattr(sys.stdin, "buffer", None)
            data = stream.read() if stream is not None else sys.stdin.read().encode(
                "utf-8", "surrogateescape")
        else:
            data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read diff {path}: {exc.strerror}") from None
    change = ChangeSet.from_diff(decode_diff(data), source=f"diff {path}")
    if not change.files:
        raise InputError(f"{path} contains no unified diff (no '--- '/'+++ ' or 'diff --git' "
                         "file headers)")
    return change


class GitHistory:
    """The working directory's git history for incremental rounds
    (:class:`reviewgate.ensemble.incremental.History`)."""

    def _commit(self, sha: str) -> None:
        from ..ensemble.incremental import HistoryUnavailable

        try:
            _git("cat-file", "-e", f"{sha}^{{commit}}")
        except InputError:
            raise HistoryUnavailable(f"commit {sha[:12]} is not in this repository") from None

    def is_ancestor(self, old: str, new: str) -> bool:
        """``git merge-base --is-ancestor OLD NEW``.

        Raises:
            HistoryUnavailable: either commit is missing (a force-push that was not fetched).
        """
        self._commit(old)
        self._commit(new)
        out = subprocess.run(["git", "merge-base", "--is-ancestor", old, new],
                             capture_output=True, check=False)
        return out.returncode == 0

    def interdiff(self, old: str, new: str, paths: list[str]) -> str:
        """``git diff OLD NEW`` (every file; ``paths`` is not needed).

        Raises:
            HistoryUnavailable: git failed.
        """
        from ..ensemble.incremental import HistoryUnavailable

        try:
            return _git("diff", "--no-color", "--no-ext-diff", old, new)
        except InputError as exc:
            raise HistoryUnavailable(str(exc)) from None


def previous_round(path: str) -> PreviousRound:
    """The previous round as recorded in an earlier run's ``decision.json`` (``--previous``):
    its head and base SHA, decision, configuration digest, open findings and the files no
    reviewer saw.

    Raises:
        InputError: the file is not a decision record.
    """
    from ..core.decision import carry_forward
    from ..ensemble.incremental import PreviousRound
    from ..ensemble.record import load_record

    record = load_record(path)
    unreviewed = record.decision.coverage.files if record.input.ledger is not None else [
        g.path for g in record.input.coverage_ledger(
            record.config.profile.policy.size_exclude).files]
    return PreviousRound(head_sha=record.input.head_sha or "",
                         base_sha=record.input.base_sha or "",
                         decision=record.decision.decision, config_digest=record.config.digest,
                         findings=carry_forward(record.decision.clusters),
                         unreviewed=unreviewed)
