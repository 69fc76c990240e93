"""What a forge adapter offers: the :class:`Forge` protocol and the data it speaks in (pull
requests, files, comments, status rows, reviews, git tree entries), and the small helpers every
adapter shares. The HTTP client is :mod:`.http`, the REST calls Forgejo, Gitea and GitHub share
are :mod:`.rest`; adapters (``forgejo.py``, ``github.py``) never import each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Iterator, Protocol

from ..core.errors import ForgeError, redact

__all__ = ["ChangedFile", "Comment", "Comparison", "Forge", "LineComment", "PullRequest",
           "Review", "ReviewComment", "StatusRow", "TreeEntry", "commit_sha", "hunk_end", "need",
           "safe_message"]

_SHA = re.compile(r"[0-9a-f]{7,64}")


def commit_sha(sha: str) -> str:
    """``sha`` when it is a hex commit id (7 to 64 characters), for use in a URL path.

    Raises:
        ForgeError: anything else (no request is sent).
    """
    if not isinstance(sha, str) or not _SHA.fullmatch(sha):
        raise ForgeError(f"not a commit SHA: {str(sha)[:80]!r}")
    return sha


@dataclass
class Comparison:
    """Two commits compared (``GET /repos/{owner}/{repo}/compare/{old}...{new}``): whether
    ``old`` is an ancestor of ``new``; the files that differ, when the forge lists them
    (Forgejo's ``files``, GitHub's ``files``; Gitea: None); the unified diff, when the forge
    serves it (GitHub's diff media type; None on Forgejo and Gitea)."""

    ancestor: bool
    files: list[str] | None = None
    diff: str | None = None


@dataclass
class PullRequest:
    """A pull request as the gate needs it. SHAs are full 40-hex commit ids.

    ``base_sha`` is the base branch's tip (it moves with every push to the base branch);
    ``merge_base`` is the commit the forge diffs the head against (Forgejo/Gitea: the
    ``merge_base`` field, which ``GET .../pulls/{n}.diff`` uses; GitHub: ``merge_base_commit``
    of ``GET .../compare/{base}...{head}``). A decision holds for the pair (merge base, head):
    DESIGN.md section 4, rule 9. ``updated_at`` changes with every push (and comment), so two
    reads with the same value saw the same pull request. ``changed_files``: the forge's count
    (None when it gives none), to find files its lists left out. ``merged_at``: when it was
    merged (RFC 3339; empty when it was not: a closed pull request without it was closed
    unmerged).
    """

    number: int
    title: str
    body: str
    head_sha: str
    base_sha: str
    html_url: str = ""
    author: str = ""
    state: str = "open"
    merge_base: str = ""
    updated_at: str = ""
    changed_files: int | None = None
    base_ref: str = ""
    merged_at: str = ""


@dataclass(frozen=True)
class TreeEntry:
    """One entry of a git tree (``GET /repos/{o}/{r}/git/trees/{sha}``): its name within the
    tree, mode (``100644``, ``100755``, ``120000`` a symlink, ``160000`` a submodule,
    ``040000`` a tree), type (``blob``, ``tree``, ``commit``) and object SHA."""

    name: str
    mode: str
    type: str
    sha: str


@dataclass
class ChangedFile:
    """One row of the pull request's files list. ``patch``: the file's hunks without headers
    (GitHub's files API; absent for binary or large files, and on Forgejo/Gitea);
    ``previous_filename``: the old path of a rename; ``sha``: the file's blob id at the head
    (GitHub's ``sha``; empty on Forgejo/Gitea, whose ``ChangedFile`` has none)."""

    filename: str
    status: str = ""
    additions: int = 0
    deletions: int = 0
    patch: str | None = None
    previous_filename: str = ""
    sha: str = ""


@dataclass
class Comment:
    """An issue comment on the pull request."""

    id: int
    body: str
    author: str
    html_url: str = ""
    created_at: str = ""


@dataclass
class StatusRow:
    """One commit status row (``state`` normalised from Forgejo's ``status`` field);
    ``creator`` is the login that posted it (``creator.login`` in the Forgejo and GitHub APIs)."""

    state: str
    context: str
    description: str = ""
    target_url: str = ""
    created_at: str = ""
    id: int = 0
    creator: str = ""


@dataclass
class LineComment:
    """One line comment of a pull request review: ``line`` on the new side of ``path`` (the
    head version; Forgejo/Gitea ``new_position``, GitHub ``line`` + ``side: RIGHT``)."""

    path: str
    line: int
    body: str


@dataclass
class Review:
    """A pull request review: its id, author, body and the commit it was made on (the head the
    reviewer saw). ``state``: Forgejo/Gitea ``APPROVED``, ``REQUEST_CHANGES``, ``COMMENT``,
    ``PENDING``, ``REQUEST_REVIEW``; GitHub ``APPROVED``, ``CHANGES_REQUESTED``, ``COMMENTED``,
    ``DISMISSED``, ``PENDING``. ``author_type``: GitHub's ``user.type`` (``User``, ``Bot``;
    empty on Forgejo/Gitea). ``comments_count``: its line comments (Forgejo/Gitea
    ``comments_count``; None when the forge does not say)."""

    id: int
    author: str
    body: str
    commit_id: str = ""
    state: str = ""
    html_url: str = ""
    submitted_at: str = ""
    author_type: str = ""
    comments_count: int | None = None
    dismissed: bool = False


@dataclass
class ReviewComment:
    """One line comment of a pull request review, where it was written: ``line`` on ``side``
    (``RIGHT`` the new file, ``LEFT`` the old) of ``path`` in the diff from the merge base to
    ``commit``, the commit it was written on; ``line`` None for a comment on the whole file.
    ``reply_to``: the comment it answers (GitHub ``in_reply_to_id``; Forgejo and Gitea have
    none: a reply is a later comment at the same place). ``review_id``: its review.
    ``diff_hunk``: the hunk it was written under (its last line is the commented one).
    Every field is the forge's text as given: hostile until checked."""

    id: int
    body: str
    author: str
    path: str
    line: int | None
    side: str = "RIGHT"
    commit: str = ""
    review_id: int | None = None
    reply_to: int | None = None
    author_type: str = ""
    diff_hunk: str = ""
    created_at: str = ""
    html_url: str = ""


class Forge(Protocol):
    """The forge operations the gate uses. All raise :class:`~reviewgate.core.errors.ForgeError`."""

    name: ClassVar[str]
    #: Commit status states this forge accepts.
    states: ClassVar[frozenset[str]]
    #: Most characters of one comment body.
    comment_limit: ClassVar[int]
    #: No reply in a review thread is marked (Forgejo, Gitea): a later comment at the same
    #: place (path, side, line) is one.
    replies_by_place: ClassVar[bool]

    def get_pull(self, number: int) -> PullRequest: ...
    def get_diff(self, number: int) -> str: ...
    def list_files(self, number: int) -> list[ChangedFile]: ...
    def whoami(self) -> str: ...
    def token_login(self) -> str: ...
    def adopt_login(self, login: str) -> None: ...
    def list_comments(self, number: int) -> list[Comment]: ...
    def create_comment(self, number: int, body: str) -> Comment: ...
    def edit_comment(self, comment_id: int, body: str) -> Comment: ...
    def delete_comment(self, comment_id: int) -> None: ...
    def set_status(self, sha: str, *, state: str, context: str, description: str,
                   target_url: str = "") -> None: ...
    def list_statuses(self, sha: str) -> list[StatusRow]: ...
    def permission(self, user: str) -> str: ...
    def issue_labels(self, number: int) -> list[tuple[int, str]]: ...
    def add_labels(self, number: int, names: list[str]) -> None: ...
    def remove_label(self, number: int, label: tuple[int, str]) -> None: ...
    def read_file(self, path: str, ref: str) -> str | None: ...
    def compare(self, old: str, new: str) -> Comparison: ...
    def list_reviews(self, number: int) -> list[Review]: ...
    def pulls(self, state: str = "closed") -> Iterator[PullRequest]: ...
    def closed_pulls(self) -> Iterator[PullRequest]: ...
    def review_comments(self, number: int, reviews: list[Review]) -> list[ReviewComment]: ...
    def tree(self, sha: str) -> list[TreeEntry]: ...
    def create_review(self, number: int, *, commit_id: str, body: str,
                      comments: list[LineComment]) -> Review: ...
    def retire_review(self, number: int, review: Review, note: str) -> None: ...
    def close(self) -> None: ...


#: A hunk header's line numbers (at most 12 digits each: no file is longer).
_HUNK_HEAD = re.compile(r"@@ -(\d{1,12})(?:,\d{1,12})? \+(\d{1,12})(?:,\d{1,12})? @@")


def hunk_end(diff_hunk: str) -> tuple[int, str] | None:
    """The line a review comment's ``diff_hunk`` ends on, as (line, side): the hunk a forge
    stores with a comment runs from its last ``@@`` header to the commented line (GitHub's
    ``diff_hunk``; Forgejo's and Gitea's ``CutDiffAroundLine``). A removed line is on the
    ``LEFT`` (old) side, any other on the ``RIGHT``. None when there is no header or no line.
    Linear in the hunk's length."""
    lines = diff_hunk.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the text's last newline
    start = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].startswith("@@")), None)
    if start is None:
        return None
    m = _HUNK_HEAD.match(lines[start])
    if m is None:
        return None
    old, new = int(m.group(1)) - 1, int(m.group(2)) - 1
    last: tuple[int, str] | None = None
    for line in lines[start + 1:]:
        if line.startswith("-"):
            old += 1
            last = (old, "LEFT")
        elif line.startswith("+"):
            new += 1
            last = (new, "RIGHT")
        elif line.startswith(" ") or line == "":  # context (an editor may strip its space)
            old, new = old + 1, new + 1
            last = (new, "RIGHT")
    return last


def need(data: Any, path: str, endpoint: str) -> Any:
    """``data[a][b]...`` for ``path`` ``"a.b"``.

    Raises:
        ForgeError: a field is missing or null; the message names the field and the endpoint
            ("GET /repos/o/r/pulls/7: response has no 'head.sha'").
    """
    value = data
    for part in path.split("."):
        if not isinstance(value, dict) or value.get(part) is None:
            raise ForgeError(f"{endpoint}: response has no '{path}'")
        value = value[part]
    return value


def safe_message(exc: BaseException) -> str:
    """A one-line, redacted description of ``exc`` for a status description or log."""
    return redact(" ".join(str(exc).split()))[:300]
