"""``reviewgate dataset build``: a review-quality dataset from a repository's merged pull requests,
their human review comments the golden comments, in the format ``reviewgate eval`` reads.

1. **Choose.** No forge sorts pull requests by merge time, so closed ones are listed most
   recently updated first (:meth:`~reviewgate.forge.rest.RestForge.closed_pulls`) and those with
   ``merged_at`` kept. Merging closes a pull request and so updates it: once the listing reaches
   pull requests last updated before ``since``, or before the ``last``-th most recent merge
   time kept so far (less :data:`CLOCK_SLACK_S`), no later page can hold a pull request merged
   after it, and listing stops.
2. **Read.** Per pull request: its reviews, their line comments
   (:meth:`~reviewgate.forge.base.Forge.review_comments`: one request per review with comments on
   Forgejo and Gitea, one paged list on GitHub), and the golden comments among them
   (:func:`reviewgate.quality.golden.concerns`: what is left out is counted by reason).
3. **Diff per reviewed commit.** A comment was written on a commit, and the final diff often
   holds its fix already, so each commit that drew a concern is one entry: the diff from the
   merge base to that commit, with the concerns written on it whose line is in it
   (:func:`reviewgate.quality.golden.on_diff`). The head's diff is the gate's
   (:func:`reviewgate.forge.changes.read_change`: a diff the forge refuses as too large is
   rebuilt from the files list); an earlier commit's is
   :func:`reviewgate.forge.changes.commit_diff` from the merge base, when the merge base is its
   ancestor. A pull request merged with no change requested and no concern is one entry of its
   final diff with ``expect: merge``.
4. **Write.** Secrets are redacted (:func:`reviewgate.context.redaction.scrub`) from every text
   before it is written; diffs go to ``DIR/diffs/NUMBER-SHA12.patch``, a name made of the
   pull request's number and a checked commit SHA, checked again as a repository path and
   written only inside ``DIR`` without following a symbolic link; ``DIR/dataset.json`` last.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..context.redaction import scrub
from ..core.changeset import ChangeSet, FileChange, parse_unified_diff
from ..core.errors import ForgeError, InputError, UserError
from ..core.paths import UnsafePath, check_repo_path
from ..core.timestamps import now_iso, parse_time
from ..forge.base import Forge, PullRequest, commit_sha, safe_message
from ..forge.changes import commit_diff, read_change
from .dataset import Dataset, EvalPR, Golden, load_dataset
from .golden import Concern, concerns, on_diff
from .sources import MAX_DIFF_BYTES

__all__ = ["CLOCK_SLACK_S", "MAX_LAST", "MAX_LISTED", "BuildEvent", "BuildResult",
           "build_dataset", "choose_merged"]

#: Most pull requests one build takes (``--last``).
MAX_LAST = 1000
#: Most closed pull requests listed while choosing (closed unmerged ones included).
MAX_LISTED = 5000
#: Seconds a pull request's ``updated_at`` may read earlier than its ``merged_at`` (two clocks
#: of one server): the listing goes on that much longer than the bound needs.
CLOCK_SLACK_S = 300.0


@dataclass
class BuildEvent:
    """Progress: ``kind`` is ``listed`` (closed pull requests seen so far), ``pull`` (one
    pull request read: ``done`` of ``total``), ``wait`` (the retry policy waits ``seconds``)
    or ``warning``; ``text`` says what, redacted."""

    kind: str
    text: str
    done: int = 0
    total: int = 0
    seconds: float = 0.0


Progress = Callable[[BuildEvent], None]


@dataclass
class BuildResult:
    """What a build wrote: the dataset file, the dataset as ``reviewgate eval`` loads it, and
    the summary stored in it as ``build``."""

    path: Path
    dataset: Dataset
    summary: dict[str, Any] = field(default_factory=dict)


def choose_merged(forge: Forge, *, last: int | None, since: dt.datetime | None,
                  counts: Counter[str], on_progress: Progress | None = None
                  ) -> list[PullRequest]:
    """The pull requests merged most recently (at most ``last``, none before ``since``),
    newest merge first, listing as few pages as the bound in the module docstring allows.
    ``counts`` receives ``closed listed`` and ``closed unmerged``."""
    chosen: list[tuple[dt.datetime, PullRequest]] = []
    slack = dt.timedelta(seconds=CLOCK_SLACK_S)
    for pr in forge.closed_pulls():
        counts["closed listed"] += 1
        if on_progress and counts["closed listed"] % 50 == 0:
            on_progress(BuildEvent("listed", f"{counts['closed listed']} closed pull requests "
                                   "listed", done=counts["closed listed"]))
        updated = parse_time(pr.updated_at)
        if updated is not None:
            if since is not None and updated < since - slack:
                break
            if last is not None and len(chosen) >= last and updated < chosen[last - 1][0] - slack:
                break
        if counts["closed listed"] > MAX_LISTED:
            counts["listing stopped at the bound"] += 1
            break
        merged = parse_time(pr.merged_at)
        if merged is None:
            counts["closed unmerged"] += 1
            continue
        if not isinstance(pr.number, int) or isinstance(pr.number, bool) or pr.number < 1:
            counts["malformed pull requests"] += 1  # its number would name its files
            continue
        if since is not None and merged < since:
            continue
        chosen.append((merged, pr))
        chosen.sort(key=lambda item: (item[0], item[1].number), reverse=True)
        if last is not None:
            del chosen[last:]
    return [pr for _, pr in chosen]


def _number(pr: PullRequest) -> int:
    """The pull request's number, which names its files: a positive integer, else ForgeError."""
    if not isinstance(pr.number, int) or isinstance(pr.number, bool) or pr.number < 1:
        raise ForgeError(f"not a pull request number: {str(pr.number)[:40]!r}")
    return pr.number


class _Builder:
    """One build: the forge, the output folder, the counts."""

    def __init__(self, forge: Forge, out: Path, gate_login: str | None,
                 on_progress: Progress | None):
        self.forge, self.out, self.gate_login = forge, out, gate_login
        self.on_progress = on_progress
        self.left: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.warnings: list[str] = []
        self.redacted = 0

    def warn(self, text: str) -> None:
        text = scrub(text)[0]  # written into the summary: a forge's message may quote anything
        self.warnings.append(text)
        if self.on_progress:
            self.on_progress(BuildEvent("warning", text))

    def pull(self, pr: PullRequest) -> list[EvalPR]:
        """The entries of one merged pull request (reads in the module docstring)."""
        number = _number(pr)
        head = commit_sha(pr.head_sha)
        reviews = self.forge.list_reviews(number)
        comments = self.forge.review_comments(number, reviews)
        kept, left, requested = concerns(
            reviews, comments, author=pr.author, gate_login=self.gate_login, head_sha=head,
            replies_by_place=self.forge.replies_by_place)
        self.left.update(left)
        if not kept:
            if requested:
                self.counts["changes requested without a comment"] += 1
                return []
            change = self._final(pr)
            if change is None:
                return []
            return [self._entry(pr, head, change.diff, [], expect="merge")]
        entries = []
        by_commit: dict[str, list[Concern]] = {}
        for concern in kept:
            by_commit.setdefault(concern.commit, []).append(concern)
        for commit in sorted(by_commit, key=lambda c: c != head):
            group = by_commit[commit]
            diff, files = self._diff(pr, commit)
            if diff is None:
                self.left["diff unavailable"] += len(group)
                continue
            shown = [c for c in group if on_diff(c, files)]
            self.left["line no longer in the diff"] += len(group) - len(shown)
            if shown:
                entries.append(self._entry(pr, commit, diff, shown))
        return entries

    def _final(self, pr: PullRequest) -> ChangeSet | None:
        """The head's change set, or None (counted) when it shows no line."""
        change = read_change(self.forge, pr, f"{self.forge.name} #{pr.number}")
        if not change.diff.strip():
            self.counts["final diff unavailable"] += 1
            self.warn(f"#{pr.number}: the forge gave no diff lines for the head (refused, "
                      "binary, or no patch in its files list): left out")
            return None
        return change

    def _diff(self, pr: PullRequest, commit: str) -> tuple[str | None, list[FileChange]]:
        """The diff from the merge base to ``commit``, with its files; (None, []) when the
        forge cannot give it (a warning says why)."""
        try:
            sha = commit_sha(commit)
            if sha == pr.head_sha:
                change = self._final(pr)
                return (change.diff, change.files) if change is not None else (None, [])
            if not pr.merge_base:  # GitHub lists none: read once per pull request
                pr.merge_base = self.forge.get_pull(_number(pr)).merge_base
            base = pr.merge_base
            comparison = self.forge.compare(commit_sha(base), sha)
            if not comparison.ancestor:
                self.warn(f"#{pr.number}: {sha[:12]} does not descend from the merge base "
                          f"{base[:12]} (rebased away?): its comments are left out")
                return None, []
            text = commit_diff(self.forge, base, sha, comparison=comparison)
        except (ForgeError, UnsafePath) as exc:
            self.warn(f"#{pr.number}: no diff for {str(commit)[:12]!r}: {safe_message(exc)}")
            return None, []
        if not text.strip():
            self.warn(f"#{pr.number}: {sha[:12]} changes nothing from the merge base: its "
                      "comments are left out")
            return None, []
        return text, parse_unified_diff(text)

    def _entry(self, pr: PullRequest, commit: str, diff: str, shown: list[Concern], *,
               expect: str | None = None) -> EvalPR:
        number = _number(pr)
        name = f"diffs/{number}-{commit_sha(commit)[:12]}.patch"
        self._write(name, self._scrub(diff))
        golden = [Golden(id=f"g{k}", comment=self._scrub(c.comment), path=c.path and
                         self._scrub(c.path), line=c.line, side=c.side if c.path else None,
                         commit=commit) for k, c in enumerate(shown, 1)]
        return EvalPR(id=f"{number}@{commit[:12]}", title=self._scrub(pr.title),
                      url=self._scrub(pr.html_url), body=self._scrub(pr.body), golden=golden,
                      diff=name, expect=expect, pr=number, commit=commit)

    def _scrub(self, text: str) -> str:
        clean, found = scrub(text)
        self.redacted += found
        return clean

    def _write(self, name: str, text: str) -> None:
        """Write ``text`` at ``name`` inside the output folder: a checked repository path,
        never through a symbolic link, at most :data:`MAX_DIFF_BYTES` (what eval reads)."""
        check_repo_path(name)
        data = text.encode("utf-8", "surrogateescape")
        if len(data) > MAX_DIFF_BYTES:
            raise InputError(f"{name}: larger than {MAX_DIFF_BYTES:,} bytes")
        target = self.out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.parent.resolve().is_relative_to(self.out.resolve()):
            raise InputError(f"{name}: a symbolic link leads out of {self.out}")
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC |
                     getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)


def build_dataset(forge: Forge, *, out: str | Path, repo: str, last: int | None = None,
                  since: dt.datetime | None = None, gate_login: str | None = None,
                  on_progress: Progress | None = None) -> BuildResult:
    """Build ``out/dataset.json`` from the pull requests merged last (module docstring).

    Args:
        forge: the repository's forge adapter (read access is enough).
        out: the output folder (created; files of an earlier build are overwritten).
        repo: ``owner/name``, for the dataset's name.
        last: at most this many pull requests, the most recently merged.
        since: only pull requests merged at or after this time (aware datetime).
        gate_login: the gate's login, whose comments are never golden.
        on_progress: receives :class:`BuildEvent` (listing, each pull request, waits).

    Raises:
        UserError: neither ``last`` nor ``since``, or ``last`` out of 1..:data:`MAX_LAST`.
        ForgeError: the closed pull requests cannot be listed. A pull request that cannot be
            read is left out with a warning instead.
    """
    if last is None and since is None:
        raise UserError("say which pull requests: --last N and/or --since DATE")
    if last is not None and not 1 <= last <= MAX_LAST:
        raise UserError(f"--last must be 1..{MAX_LAST}, got {last}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    builder = _Builder(forge, out, gate_login, on_progress)
    chosen = choose_merged(forge, last=last, since=since, counts=builder.counts,
                           on_progress=on_progress)
    entries: list[EvalPR] = []
    for done, pr in enumerate(chosen, 1):
        try:
            mine = builder.pull(pr)
        except (ForgeError, UnsafePath) as exc:
            builder.counts["pull requests not read"] += 1
            builder.warn(f"#{pr.number}: not read: {safe_message(exc)}")
            mine = []
        entries += mine
        if on_progress:
            golden = sum(len(e.golden) for e in mine)
            on_progress(BuildEvent("pull", f"#{pr.number}: {len(mine)} entries, {golden} golden "
                                   "comments", done=done, total=len(chosen)))
    summary = {
        "forge": forge.name, "repo": repo, "built_at": now_iso(), "last": last,
        "since": since.isoformat() if since else None, "merged": len(chosen),
        "closed_listed": builder.counts["closed listed"],
        "closed_unmerged": builder.counts["closed unmerged"],
        "entries": len(entries), "expect_merge": sum(e.expect == "merge" for e in entries),
        "golden": sum(len(e.golden) for e in entries),
        "left_out": {k: v for k, v in sorted(builder.left.items()) if v},
        "skipped": {k: v for k, v in sorted(builder.counts.items())
                    if v and k not in ("closed listed", "closed unmerged")},
        "redacted": builder.redacted, "warnings": builder.warnings[:100]}
    dataset = {"name": f"{repo} merged pull requests", "judge": "",
               "source": f"reviewgate dataset build: {forge.name} {repo}, human review comments",
               "prs": [e.model_dump(exclude_none=True, exclude={"recorded"}) for e in entries],
               "build": summary}
    path = out / "dataset.json"
    temp = out / ".dataset.json.tmp"
    temp.write_text(json.dumps(dataset, indent=1) + "\n", encoding="utf-8")
    temp.replace(path)
    return BuildResult(path=path, dataset=load_dataset(path), summary=summary)
