"""Forgejo (and Gitea, whose API is the same for everything used here).

Facts from the Forgejo OpenAPI document (``forge-api/forgejo-openapi.v1.json``, basePath
``/api/v1``) and DESIGN.md section 5:

- auth ``Authorization: token <t>``; lists page with ``page`` + ``limit`` (max 50);
- ``GET /repos/{o}/{r}/pulls/{n}`` (head SHA at ``head.sha``), ``GET .../pulls/{n}.diff``,
  ``GET .../pulls/{n}/files`` (paged);
- ``GET /repos/{o}/{r}/issues/{n}/comments`` returns every comment, ascending by creation (no
  paging parameters); ``POST`` creates, ``PATCH /repos/{o}/{r}/issues/comments/{id}`` edits;
- ``POST /repos/{o}/{r}/statuses/{sha}`` takes ``state``; a status row reports it in ``status``;
- labels are added by id (unknown names would be silently ignored, so names are resolved to ids,
  creating missing labels) and removed by numeric id only;
- ``GET /repos/{o}/{r}/collaborators/{user}/permission`` gives ``permission``;
- ``GET /repos/{o}/{r}/raw/{filepath}?ref=SHA`` returns a file's bytes at a commit;
- ``POST /repos/{o}/{r}/pulls/{n}/reviews`` (``CreatePullReviewOptions``: ``body``, ``commit_id``,
  ``event``, ``comments`` of ``path`` + ``new_position``/``old_position``) posts a review;
  ``DELETE .../reviews/{id}`` deletes one. Dismissal only applies to approvals and change
  requests (``routers/api/v1/repo/pull_review.go``, ``dismissReview``: 403 "not need to
  dismiss this review because it's type is not Approve or change request"), and the gate's
  reviews are comment reviews.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..core.changeset import decode_diff
from ..core.errors import ForgeError
from ..core.paths import quote_repo_path
from .base import Comment, Comparison, LineComment, Review, ReviewComment, commit_sha, hunk_end
from .http import ForgeHTTP
from .rest import RestForge

__all__ = ["ForgejoForge", "GiteaForge"]

PAGE_LIMIT = 50
_LABEL_COLOR = "#6e7781"


class ForgejoForge(RestForge):
    """One repository on a Forgejo server.

    Args:
        url: the server root (``https://codeberg.org``); ``/api/v1`` is appended.
        repo: ``owner/name``.
        token: the API token (never printed).
        http: an injected :class:`ForgeHTTP` (tests); built from the arguments when None.
        bot_login: the bot's login, when ``GET /user`` should not be asked.
    """

    name: ClassVar[str] = "forgejo"
    states: ClassVar[frozenset[str]] = frozenset({"pending", "success", "error", "failure",
                                                  "warning"})
    size_param: ClassVar[str] = "limit"
    page_size: ClassVar[int] = PAGE_LIMIT
    status_field: ClassVar[str] = "status"
    recent_first: ClassVar[dict[str, str]] = {"sort": "recentupdate"}
    replies_by_place: ClassVar[bool] = True

    def __init__(self, url: str, repo: str, token: str | None, *, http: ForgeHTTP | None = None,
                 bot_login: str | None = None):
        super().__init__(repo, http or ForgeHTTP(url.rstrip("/") + "/api/v1",
                                                 f"token {token}" if token else None), bot_login)
        self._label_ids: dict[str, int] | None = None

    def get_diff(self, number: int) -> str:
        """The unified diff of the pull request (``GET .../pulls/{n}.diff``: ``git diff`` of
        the stored ``merge_base`` and the head, without the forge's display limits), as
        :func:`reviewgate.core.changeset.decode_diff` text."""
        return decode_diff(self.http.request("GET", f"{self._r}/pulls/{number}.diff").content)

    def list_comments(self, number: int) -> list[Comment]:
        """Every comment, ascending by creation (the endpoint returns all of them)."""
        return [self._comment(item) for item in self.http.pages(
            f"{self._r}/issues/{number}/comments", size_param=None)]

    def issue_labels(self, number: int) -> list[tuple[int, str]]:
        """The labels on the pull request as (id, name)."""
        return [(lab["id"], lab["name"])
                for lab in self.http.json("GET", f"{self._r}/issues/{number}/labels") or []]

    def read_file(self, path: str, ref: str) -> str | None:
        """The text of ``path`` at commit ``ref`` (``GET .../raw/{filepath}?ref=``); None when
        it does not exist there or is not UTF-8 text.

        Raises:
            UnsafePath: ``path`` is not a normalized relative repository path (no request is
                sent); ForgeError: any error but 404.
        """
        return self._read(f"{self._r}/raw/{quote_repo_path(path)}", params={"ref": ref})

    def compare(self, old: str, new: str) -> Comparison:
        """``old`` against ``new`` (``GET /repos/{owner}/{repo}/compare/{old}...{new}``,
        operation ``repoCompareDiff``; ``Compare`` lists the commits from the merge base to
        ``new`` with their ``parents``, and on Forgejo the ``files``). ``old`` is an ancestor
        exactly when it is ``new`` or a parent of one of those commits.

        Raises:
            ForgeError: a SHA is malformed, a commit is unknown (404), or the list of commits
                is incomplete and does not show ``old``.
        """
        endpoint = f"{self._r}/compare/{commit_sha(old)}...{commit_sha(new)}"
        data = self.http.json("GET", endpoint)
        if not isinstance(data, dict):
            raise ForgeError(f"GET {endpoint}: response is not a JSON object")
        commits = [c for c in data.get("commits") or [] if isinstance(c, dict)]
        parents = {p.get("sha") for c in commits for p in c.get("parents") or []
                   if isinstance(p, dict)}
        ancestor = old == new or old in parents
        total = data.get("total_commits")
        if not ancestor and isinstance(total, int) and total > len(commits):
            raise ForgeError(f"GET {endpoint}: lists {len(commits)} of {total} commits")
        files = data.get("files")
        names = ([f["filename"] for f in files if isinstance(f, dict)
                  and isinstance(f.get("filename"), str)] if isinstance(files, list) else None)
        return Comparison(ancestor=ancestor, files=names)

    def review_comments(self, number: int, reviews: list[Review]) -> list[ReviewComment]:
        """The line comments of ``reviews`` (one request per review that has any: a review
        whose ``comments_count`` is 0 is not asked; pending reviews are skipped), each at the
        line and side its ``position``/``original_position`` give (module docstring), on the
        review's ``commit_id``; without a line, at the end of its ``diff_hunk``."""
        out = []
        for review in reviews:
            if review.state == "PENDING" or review.comments_count == 0:
                continue
            path = f"{self._r}/pulls/{number}/reviews/{review.id}/comments"
            for item in self.http.pages(path, size_param=None):
                if isinstance(item, dict):
                    out.append(self._line_comment(item, review))
        return out

    @staticmethod
    def _line_comment(data: dict[str, Any], review: Review) -> ReviewComment:
        new, old = data.get("position"), data.get("original_position")
        hunk = data.get("diff_hunk") if isinstance(data.get("diff_hunk"), str) else ""
        place: tuple[int, str] | None = None
        if isinstance(new, int) and new > 0:
            place = (new, "RIGHT")
        elif isinstance(old, int) and old > 0:
            place = (old, "LEFT")
        else:
            place = hunk_end(hunk)
        user = data.get("user") if isinstance(data.get("user"), dict) else {}
        path = data.get("path")
        return ReviewComment(
            id=int(data.get("id") or 0), body=str(data.get("body") or ""),
            author=str(user.get("login") or ""), path=path if isinstance(path, str) else "",
            line=place[0] if place else None, side=place[1] if place else "RIGHT",
            commit=review.commit_id or str(data.get("commit_id") or ""), review_id=review.id,
            diff_hunk=hunk, created_at=str(data.get("created_at") or ""),
            html_url=str(data.get("html_url") or ""))

    def create_review(self, number: int, *, commit_id: str, body: str,
                      comments: list[LineComment]) -> Review:
        """Post one comment review (``event: COMMENT``, never an approval) with line comments;
        sent once (a POST is not idempotent: the caller re-lists to see whether it landed)."""
        payload = {"body": body, "commit_id": commit_id, "event": "COMMENT", "comments": [
            {"path": c.path, "body": c.body,
             "new_position": c.line, "old_position": 0} for c in comments]}
        return self._create_review(number, payload)

    def retire_review(self, number: int, review: Review, note: str) -> None:
        """Remove an earlier round's review of the bot (``DELETE .../reviews/{id}``): its line
        comments go with it; the decision comment keeps the round's findings."""
        self.http.request("DELETE", f"{self._r}/pulls/{number}/reviews/{review.id}")

    def _resolve_labels(self, names: list[str]) -> list[int]:
        if self._label_ids is None:
            self._label_ids = {lab["name"]: lab["id"] for lab in self._pages(f"{self._r}/labels")}
        ids = []
        for name in names:
            if name not in self._label_ids:
                created = self.http.json("POST", f"{self._r}/labels",
                                         json={"name": name, "color": _LABEL_COLOR})
                self._label_ids[name] = created["id"]
            ids.append(self._label_ids[name])
        return ids

    def add_labels(self, number: int, names: list[str]) -> None:
        """Add labels by name (resolved to ids; missing labels are created)."""
        if names:
            self.http.json("POST", f"{self._r}/issues/{number}/labels",
                           json={"labels": self._resolve_labels(names)})

    def remove_label(self, number: int, label: tuple[int, str]) -> None:
        """Remove one label by its numeric id."""
        self.http.request("DELETE", f"{self._r}/issues/{number}/labels/{label[0]}")


class GiteaForge(ForgejoForge):
    """Gitea: the same API for everything the gate uses (``forge-api/gitea-openapi.v1.json``)."""

    name: ClassVar[str] = "gitea"
