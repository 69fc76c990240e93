"""The REST calls Forgejo, Gitea and GitHub share: pull request and file JSON, issue comments,
status rows, collaborator permission, files at a commit, reviews, git trees, closed pull
requests most recently updated first."""

from __future__ import annotations

from typing import Any, ClassVar, Iterator
from urllib.parse import quote

from ..core.changeset import decode_diff
from ..core.errors import ForgeError
from .base import (ChangedFile, Comment, PullRequest, Review, StatusRow, TreeEntry, commit_sha,
                   need)
from .http import ForgeHTTP

__all__ = ["RestForge"]


class RestForge:
    """The parts of the Forgejo/Gitea and GitHub REST APIs that have the same shape: pull
    request and file JSON, issue comments, status rows, collaborator permission.

    Subclasses set the paging parameter (``size_param``/``page_size``), the field a status row
    reports its state in (``status_field``) and the states the forge accepts, and implement what
    differs (diff download, comment listing, labels).
    """

    name: ClassVar[str] = ""
    states: ClassVar[frozenset[str]] = frozenset()
    #: Most characters of one comment body: GitHub refuses more than 65,536 (422 "body is too
    #: long (maximum is 65536 characters)"); Forgejo and Gitea set no limit in their API
    #: (``CreateIssueCommentOption.body`` has no ``maxLength``; the column is LONGTEXT), and
    #: the same cap keeps every comment readable and portable.
    comment_limit: ClassVar[int] = 65_536
    size_param: ClassVar[str] = ""
    page_size: ClassVar[int] = 0
    status_field: ClassVar[str] = "state"
    #: The list-pull-requests parameters that order by last update, newest first.
    recent_first: ClassVar[dict[str, str]] = {}
    #: The forge marks no reply in a review thread: a later comment at the same place is one.
    replies_by_place: ClassVar[bool] = False

    def __init__(self, repo: str, http: ForgeHTTP, bot_login: str | None = None):
        self.repo = repo
        self.http = http
        self._login = bot_login

    @property
    def _r(self) -> str:
        return f"/repos/{quote(self.repo, safe='/')}"

    def _pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        return self.http.pages(path, params=params, size_param=self.size_param,
                               size=self.page_size)

    def get_pull(self, number: int) -> PullRequest:
        """The pull request; raises ForgeError (404) when it does not exist."""
        endpoint = f"GET {self._r}/pulls/{number}"
        return self._pull(self.http.json("GET", f"{self._r}/pulls/{number}"), endpoint)

    @staticmethod
    def _pull(data: Any, endpoint: str) -> PullRequest:
        if not isinstance(data, dict):
            raise ForgeError(f"{endpoint}: response is not a JSON object")
        count = data.get("changed_files")
        merged = data.get("merged_at")
        return PullRequest(number=need(data, "number", endpoint), title=data.get("title") or "",
                           body=data.get("body") or "", head_sha=need(data, "head.sha", endpoint),
                           base_sha=(data.get("base") or {}).get("sha") or "",
                           html_url=data.get("html_url") or "",
                           author=(data.get("user") or {}).get("login", ""),
                           state=data.get("state") or "open",
                           merge_base=data.get("merge_base") or "",
                           updated_at=data.get("updated_at") or "",
                           changed_files=count if isinstance(count, int) else None,
                           base_ref=(data.get("base") or {}).get("ref") or "",
                           merged_at=merged if isinstance(merged, str) else "")

    def pulls(self, state: str = "closed") -> Iterator[PullRequest]:
        """Pull requests in ``state`` (``open``, ``closed``: merged or not, ``all``), most
        recently updated first, page by page as they are read (``GET /repos/{o}/{r}/pulls``
        with ``state`` and :attr:`recent_first`; Forgejo/Gitea swagger ``repoListPullRequests``,
        GitHub "List pull requests"). No forge sorts by merge time; merging closes a pull
        request and so updates it, so a pull request merged at T is listed at or before every
        one last updated before T. Forgejo lists a pull request it fails to load as null:
        skipped.

        Raises:
            ValueError: ``state`` is none of the three.
            ForgeError: a page cannot be read.
        """
        if state not in ("open", "closed", "all"):
            raise ValueError(f"pull request state {state!r}")
        endpoint = f"GET {self._r}/pulls"
        for item in self._pages(f"{self._r}/pulls", {"state": state, **self.recent_first}):
            if item is not None:
                yield self._pull(item, endpoint)

    def closed_pulls(self) -> Iterator[PullRequest]:
        """Closed pull requests (merged or not), most recently updated first
        (:meth:`pulls`)."""
        return self.pulls("closed")

    def list_files(self, number: int) -> list[ChangedFile]:
        """Every changed file, all pages."""
        endpoint = f"GET {self._r}/pulls/{number}/files"
        return [ChangedFile(filename=need(f, "filename", endpoint), status=f.get("status", ""),
                            additions=f.get("additions", 0), deletions=f.get("deletions", 0),
                            patch=f.get("patch") if isinstance(f.get("patch"), str) else None,
                            previous_filename=f.get("previous_filename") or "",
                            sha=f.get("sha") if isinstance(f.get("sha"), str) else "")
                for f in self._pages(f"{self._r}/pulls/{number}/files")]

    def adopt_login(self, login: str) -> None:
        """Take ``login`` as the bot's login from now on (learnt from a status row the token
        itself created, when ``GET /user`` is refused)."""
        self._login = login

    def token_login(self) -> str:
        """The login of the token's own user, always asked of the forge (``GET /user``), never
        taken from a configured ``bot_login``: who holds the token, for an audit.

        Raises:
            ForgeError: the token cannot read ``/user`` (a GitHub App or Actions token: 403).
        """
        return need(self.http.json("GET", "/user"), "login", "GET /user")

    def whoami(self) -> str:
        """The gate's identity: the configured ``bot_login``, else the login of the token's
        user, from ``GET /user``.

        Raises:
            ForgeError: the token cannot read ``/user``; the message says how to name the bot.
        """
        if self._login is None:
            try:
                self._login = need(self.http.json("GET", "/user"), "login", "GET /user")
            except ForgeError as exc:
                raise ForgeError(f"{exc} (cannot tell the bot's login from this token: set "
                                 "REVIEWGATE_BOT_LOGIN or [gate] bot_login)",
                                 status_code=exc.status_code, method="GET",
                                 path="/user") from None
        return self._login

    @staticmethod
    def _comment(data: dict[str, Any]) -> Comment:
        return Comment(id=need(data, "id", "comment"), body=data.get("body") or "",
                       author=(data.get("user") or {}).get("login", ""),
                       html_url=data.get("html_url") or "", created_at=data.get("created_at", ""))

    def create_comment(self, number: int, body: str) -> Comment:
        """Post a new comment, once: a POST is not idempotent, so it is never retried blindly
        (the caller re-lists the comments to see whether it landed)."""
        return self._comment(self.http.json("POST", f"{self._r}/issues/{number}/comments",
                                            json={"body": body}, retry=False))

    def edit_comment(self, comment_id: int, body: str) -> Comment:
        """Edit a comment in place."""
        return self._comment(self.http.json("PATCH", f"{self._r}/issues/comments/{comment_id}",
                                            json={"body": body}))

    def delete_comment(self, comment_id: int) -> None:
        """Delete one of our comments (a duplicate left by a concurrent run); ``DELETE
        /repos/{o}/{r}/issues/comments/{id}`` in the Forgejo and GitHub APIs."""
        self.http.request("DELETE", f"{self._r}/issues/comments/{comment_id}")

    def set_status(self, sha: str, *, state: str, context: str, description: str,
                   target_url: str = "") -> None:
        """Add a commit status row on ``sha``.

        Raises:
            ForgeError: ``state`` is not one this forge accepts (never sent).
        """
        if state not in self.states:
            raise ForgeError(f"{self.name} does not accept status state {state!r}")
        body = {"state": state, "context": context, "description": description}
        if target_url:
            body["target_url"] = target_url
        self.http.json("POST", f"{self._r}/statuses/{sha}", json=body)

    def list_statuses(self, sha: str) -> list[StatusRow]:
        """Every status row of ``sha``, the state read from :attr:`status_field`."""
        return [StatusRow(state=s.get(self.status_field) or s.get("state") or "",
                          context=s.get("context", ""), description=s.get("description") or "",
                          target_url=s.get("target_url") or "",
                          created_at=s.get("created_at", ""), id=s.get("id", 0),
                          creator=(s.get("creator") or {}).get("login", ""))
                for s in self._pages(f"{self._r}/commits/{sha}/statuses")]

    def permission(self, user: str) -> str:
        """The user's permission (``none`` when not a collaborator: 403/404)."""
        try:
            data = self.http.json("GET",
                                  f"{self._r}/collaborators/{quote(user, safe='')}/permission")
        except ForgeError as exc:
            if exc.status_code in (403, 404):
                return "none"
            raise
        return (data or {}).get("permission") or "none"

    def _read(self, path: str, **kwargs: Any) -> str | None:
        """GET a file body as text; None on 404 (no such file at that commit). Bytes that are
        not UTF-8 come back as lone surrogates and a binary file holds NUL characters
        (:func:`reviewgate.core.changeset.decode_diff`): callers tell "not there" from "not
        text" that way, never by a missing answer."""
        try:
            response = self.http.request("GET", path, **kwargs)
        except ForgeError as exc:
            if exc.status_code == 404:
                return None
            raise
        return decode_diff(response.content)

    @staticmethod
    def _review(data: dict[str, Any]) -> Review:
        user = data.get("user") if isinstance(data.get("user"), dict) else {}
        count = data.get("comments_count")
        return Review(id=need(data, "id", "review"), author=user.get("login") or "",
                      body=data.get("body") or "", commit_id=data.get("commit_id") or "",
                      state=data.get("state") or "", html_url=data.get("html_url") or "",
                      submitted_at=data.get("submitted_at") or "",
                      author_type=user.get("type") or "",
                      comments_count=count if isinstance(count, int) else None,
                      dismissed=data.get("dismissed") is True)

    def _create_review(self, number: int, payload: dict[str, Any]) -> Review:
        """POST a review once (not idempotent: the caller re-lists to see whether it landed).

        Raises:
            ForgeError: the forge refused it, or the reply is not a review object.
        """
        path = f"{self._r}/pulls/{number}/reviews"
        data = self.http.json("POST", path, json=payload, retry=False)
        if not isinstance(data, dict):
            raise ForgeError(f"POST {path}: response is not a review")
        return self._review(data)

    #: Entries per page of a tree listing (Forgejo/Gitea ``per_page``; GitHub lists a whole
    #: tree at once).
    tree_page: ClassVar[int] = 1000

    def tree(self, sha: str) -> list[TreeEntry]:
        """The entries of one git tree, not recursive (``GET /repos/{o}/{r}/git/trees/{sha}``
        in the Forgejo, Gitea and GitHub APIs; a commit SHA names its root tree), every page.

        Raises:
            ForgeError: ``sha`` is malformed (no request is sent), the tree is unknown, or the
                listing is truncated or malformed.
        """
        endpoint = f"{self._r}/git/trees/{commit_sha(sha)}"
        out: list[TreeEntry] = []
        page = 1
        while True:
            data = self.http.json("GET", endpoint, params={"page": page,
                                                           "per_page": self.tree_page})
            items = data.get("tree") if isinstance(data, dict) else None
            if not isinstance(items, list):
                raise ForgeError(f"GET {endpoint}: response is not a git tree")
            for item in items:
                if not isinstance(item, dict) or not all(
                        isinstance(item.get(k), str) for k in ("path", "mode", "type", "sha")):
                    raise ForgeError(f"GET {endpoint}: malformed tree entry")
                out.append(TreeEntry(item["path"], item["mode"], item["type"], item["sha"]))
            total = data.get("total_count")
            if isinstance(total, int) and len(out) < total and items:
                page += 1
                continue
            if data.get("truncated") and not (isinstance(total, int) and len(out) >= total):
                raise ForgeError(f"GET {endpoint}: the tree listing is truncated")
            return out

    def list_reviews(self, number: int) -> list[Review]:
        """Every review of the pull request, all pages (``GET /repos/{o}/{r}/pulls/{n}/reviews``
        in the Forgejo, Gitea and GitHub APIs)."""
        return [self._review(r) for r in self._pages(f"{self._r}/pulls/{number}/reviews")]

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()
