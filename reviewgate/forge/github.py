"""GitHub (github.com and GitHub Enterprise Server).

Differences from Forgejo that matter here (GitHub REST API docs; DESIGN.md section 5):

- API root ``https://api.github.com`` (Enterprise: ``<url>/api/v3``); ``Authorization: Bearer``;
- the diff is ``GET /repos/{o}/{r}/pulls/{n}`` with ``Accept: application/vnd.github.diff``;
- lists page with ``per_page`` (max 100) and ``Link`` headers; the issue-comments endpoint
  ignores ``sort``/``direction`` and returns comments oldest first;
- four status states (``error``, ``failure``, ``pending``, ``success``); a status row reports its
  state in ``state``;
- labels are added by name (GitHub creates missing ones) and removed by name;
- an Actions ``GITHUB_TOKEN`` or an App installation token cannot read ``GET /user`` (403):
  the gate then takes its login from the configured ``bot_login`` or from the creator of its
  own pending status (:func:`reviewgate.gate.status.learn_login`), never from a guess;
- the diff media type is refused (406, ``too_large``) past 300 files or 20,000 lines; the files
  API (up to 3,000 files) carries each file's hunks in ``patch``;
- a file at a commit: ``GET /repos/{o}/{r}/contents/{path}?ref=SHA`` with
  ``Accept: application/vnd.github.raw+json`` returns the raw bytes;
- a review: ``POST /repos/{o}/{r}/pulls/{n}/reviews`` with ``commit_id``, ``event: COMMENT`` and
  ``comments`` of ``path`` + ``line`` + ``side`` (``RIGHT`` new, ``LEFT`` old); a submitted
  review cannot be deleted and a comment review cannot be dismissed, so an earlier round's
  review is retired by rewriting its body (``PUT .../reviews/{id}``) and deleting its line
  comments (``DELETE /repos/{o}/{r}/pulls/comments/{id}``);
- ``GET /repos/{o}/{r}/pulls?state=closed&sort=updated&direction=desc`` lists closed pull
  requests most recently updated first (``direction`` defaults to ``asc`` for any sort but
  ``created``); ``merged_at`` is set on merged ones;
- ``GET /repos/{o}/{r}/pulls/{n}/comments`` lists every review comment of a pull request
  (paged): ``original_commit_id`` is the commit it was written on and ``original_line`` its
  line there, on ``side`` (``commit_id``/``line`` follow it to later commits while the line
  lasts; ``line`` is null once outdated); ``in_reply_to_id`` marks a reply;
  ``subject_type: file`` a comment on the whole file; ``user.type`` is ``Bot`` for an App.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar
from urllib.parse import quote

from ..core.changeset import decode_diff
from ..core.errors import ForgeError
from ..core.timestamps import parse_time
from ..core.paths import quote_repo_path
from .base import Comment, Comparison, LineComment, PullRequest, Review, ReviewComment
from .base import commit_sha, hunk_end, need
from .http import ForgeHTTP
from .rest import RestForge

__all__ = ["GitHubForge"]

PER_PAGE = 100
_EPOCH = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def api_root(url: str) -> str:
    """The REST API root for a GitHub web or API URL."""
    url = url.rstrip("/")
    if url in ("https://github.com", "http://github.com", "https://api.github.com"):
        return "https://api.github.com"
    if url.endswith("/api/v3"):
        return url
    return url + "/api/v3"


class GitHubForge(RestForge):
    """One repository on GitHub.

    Args:
        url: ``https://github.com``, an Enterprise server URL, or an API root.
        repo: ``owner/name``.
        token: the API token (never printed).
        http: an injected :class:`ForgeHTTP` (tests).
        bot_login: the bot's login when it cannot be read from ``GET /user``.
    """

    name: ClassVar[str] = "github"
    states: ClassVar[frozenset[str]] = frozenset({"pending", "success", "error", "failure"})
    size_param: ClassVar[str] = "per_page"
    page_size: ClassVar[int] = PER_PAGE
    status_field: ClassVar[str] = "state"
    recent_first: ClassVar[dict[str, str]] = {"sort": "updated", "direction": "desc"}

    def __init__(self, url: str, repo: str, token: str | None, *, http: ForgeHTTP | None = None,
                 bot_login: str | None = None):
        super().__init__(repo, http or ForgeHTTP(
            api_root(url), f"Bearer {token}" if token else None,
            extra_headers={"Accept": "application/vnd.github+json",
                           "X-GitHub-Api-Version": "2022-11-28"}), bot_login)
        self._merge_bases: dict[tuple[str, str], str] = {}

    def get_pull(self, number: int) -> PullRequest:
        """The pull request, with its merge base: ``merge_base_commit.sha`` of ``GET
        /repos/{o}/{r}/compare/{base.sha}...{head.sha}`` (REST "Compare two commits"; the
        pull request object carries none).

        Raises:
            ForgeError: the pull request or the comparison cannot be read.
        """
        pr = super().get_pull(number)
        if pr.base_sha and pr.head_sha:
            key = (pr.base_sha, pr.head_sha)
            if key not in self._merge_bases:
                endpoint = (f"{self._r}/compare/{commit_sha(pr.base_sha)}..."
                            f"{commit_sha(pr.head_sha)}")
                data = self.http.json("GET", endpoint, params={"per_page": 1})
                self._merge_bases[key] = need(data, "merge_base_commit.sha", f"GET {endpoint}")
            pr.merge_base = self._merge_bases[key]
        return pr

    def get_diff(self, number: int) -> str:
        """The unified diff, via the diff media type."""
        return decode_diff(self.http.request(
            "GET", f"{self._r}/pulls/{number}",
            headers={"Accept": "application/vnd.github.diff"}).content)

    def list_comments(self, number: int) -> list[Comment]:
        """Every comment, all pages, sorted by creation (the API ignores sort parameters)."""
        items = [self._comment(c) for c in self._pages(f"{self._r}/issues/{number}/comments")]
        return sorted(items, key=lambda c: (parse_time(c.created_at) or _EPOCH, c.id))

    def issue_labels(self, number: int) -> list[tuple[int, str]]:
        """The labels on the pull request as (id, name)."""
        return [(lab["id"], lab["name"])
                for lab in self._pages(f"{self._r}/issues/{number}/labels")]

    def read_file(self, path: str, ref: str) -> str | None:
        """The text of ``path`` at commit ``ref``; None when missing there or not UTF-8.

        Raises:
            UnsafePath: ``path`` is not a normalized relative repository path (no request is
                sent); ForgeError: any error but 404.
        """
        return self._read(f"{self._r}/contents/{quote_repo_path(path)}", params={"ref": ref},
                          headers={"Accept": "application/vnd.github.raw+json"})

    def compare(self, old: str, new: str) -> Comparison:
        """``old`` against ``new`` (``GET /repos/{owner}/{repo}/compare/{old}...{new}``, REST
        "Compare two commits"): ``status`` ``ahead`` or ``identical`` means ``old`` is an
        ancestor; then the diff comes from the same endpoint with the diff media type.

        Raises:
            ForgeError: a SHA is malformed, a commit is unknown (404), or the diff is refused.
        """
        endpoint = f"{self._r}/compare/{commit_sha(old)}...{commit_sha(new)}"
        data = self.http.json("GET", endpoint, params={"per_page": 1})
        if not isinstance(data, dict):
            raise ForgeError(f"GET {endpoint}: response is not a JSON object")
        ancestor = data.get("status") in ("ahead", "identical")
        if not ancestor:
            return Comparison(ancestor=False)
        diff = decode_diff(self.http.request(
            "GET", endpoint, headers={"Accept": "application/vnd.github.diff"}).content)
        return Comparison(ancestor=True, diff=diff)

    def review_comments(self, number: int, reviews: list[Review]) -> list[ReviewComment]:
        """Every review comment of the pull request, all pages of one list (``reviews`` is
        not needed: GitHub lists them per pull request), each at ``original_line`` on
        ``side`` of ``original_commit_id`` (module docstring); a comment with no line (from
        before GitHub had lines) at the end of its ``diff_hunk``; one on the whole file
        without a line."""
        return [self._line_comment(c) for c in self._pages(f"{self._r}/pulls/{number}/comments")
                if isinstance(c, dict)]

    @staticmethod
    def _line_comment(data: dict[str, Any]) -> ReviewComment:
        hunk = data.get("diff_hunk") if isinstance(data.get("diff_hunk"), str) else ""
        line, side = data.get("original_line"), data.get("side")
        place: tuple[int, str] | None = None
        if data.get("subject_type") == "file":
            place = None
        elif isinstance(line, int) and line > 0:
            place = (line, "LEFT" if side == "LEFT" else "RIGHT")
        else:
            place = hunk_end(hunk)
        user = data.get("user") if isinstance(data.get("user"), dict) else {}
        reply, review, path = (data.get("in_reply_to_id"), data.get("pull_request_review_id"),
                               data.get("path"))
        return ReviewComment(
            id=int(data.get("id") or 0), body=str(data.get("body") or ""),
            author=str(user.get("login") or ""), path=path if isinstance(path, str) else "",
            line=place[0] if place else None, side=place[1] if place else "RIGHT",
            commit=str(data.get("original_commit_id") or data.get("commit_id") or ""),
            review_id=review if isinstance(review, int) else None,
            reply_to=reply if isinstance(reply, int) else None,
            author_type=str(user.get("type") or ""), diff_hunk=hunk,
            created_at=str(data.get("created_at") or ""),
            html_url=str(data.get("html_url") or ""))

    def create_review(self, number: int, *, commit_id: str, body: str,
                      comments: list[LineComment]) -> Review:
        """Post one comment review (``event: COMMENT``) with line comments; sent once."""
        payload = {"body": body, "commit_id": commit_id, "event": "COMMENT", "comments": [
            {"path": c.path, "body": c.body, "line": c.line,
             "side": "RIGHT"} for c in comments]}
        return self._create_review(number, payload)

    def retire_review(self, number: int, review: Review, note: str) -> None:
        """Mark an earlier round's review outdated: its body becomes ``note`` and its line
        comments are deleted (GitHub keeps submitted reviews)."""
        for comment in self._pages(f"{self._r}/pulls/{number}/reviews/{review.id}/comments"):
            try:
                self.http.request("DELETE", f"{self._r}/pulls/comments/{comment['id']}")
            except ForgeError as exc:
                if exc.status_code != 404:
                    raise
        self.http.json("PUT", f"{self._r}/pulls/{number}/reviews/{review.id}",
                       json={"body": note})

    def add_labels(self, number: int, names: list[str]) -> None:
        """Add labels by name (GitHub creates missing ones)."""
        if names:
            self.http.json("POST", f"{self._r}/issues/{number}/labels", json={"labels": names})

    def remove_label(self, number: int, label: tuple[int, str]) -> None:
        """Remove one label by name."""
        self.http.request("DELETE",
                          f"{self._r}/issues/{number}/labels/{quote(label[1], safe='')}")
