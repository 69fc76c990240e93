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
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, check=True)
    except FileNotFoundError:
        raise InputError("git is not installed") from None
    except subprocess.CalledProcessError as exc:
        raise InputError(f"git {' '.join(args)} failed: {exc.stderr.strip()}") from None
    return out.stdout


def git_reader(path: str, ref: str, git_dir: str | None = None) -> str | None:
    """The text of ``path`` at commit ``ref`` (``git cat-file blob REF:PATH``) in the working
    directory's repository, or in ``git_dir``; None when it does not exist there or is not
    UTF-8.

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
    try:
        return out.stdout.decode("utf-8")
    except UnicodeDecodeError:
        return None


def change_from_git(spec: str) -> ChangeSet:
    """A change set from a local git range ``BASE..HEAD`` (or ``BASE...HEAD``: from the merge
    base). Title and body come from HEAD's commit message."""
    from ..core.changeset import ChangeSet, parse_unified_diff

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
    return ChangeSet(title=title, body=body, diff=diff, files=parse_unified_diff(diff),
                     base_sha=base_sha, head_sha=head_sha, source=f"git {spec}")


def change_from_diff(path: str) -> ChangeSet:
    """A change set from a unified diff file (``-``: standard input)."""
    from ..core.changeset import ChangeSet, parse_unified_diff

    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"cannot read diff {path}: {exc.strerror}") from None
    files = parse_unified_diff(text)
    if not files:
        raise InputError(f"{path} contains no unified diff (no '--- '/'+++ ' or 'diff --git' "
                         "file headers)")
    return ChangeSet(diff=text, files=files, source=f"diff {path}")


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
    from ..core.changeset import matches
    from ..core.decision import carry_forward
    from ..ensemble.incremental import PreviousRound
    from ..ensemble.record import load_record

    record = load_record(path)
    exclude = record.config.profile.policy.size_exclude
    return PreviousRound(head_sha=record.input.head_sha or "",
                         base_sha=record.input.base_sha or "",
                         decision=record.decision.decision, config_digest=record.config.digest,
                         findings=carry_forward(record.decision.clusters),
                         unreviewed=[p for p in record.input.omitted if not matches(p, exclude)])
