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
- ``GET /repos/{o}/{r}/collaborators/{user}/permission`` gives ``permission``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..errors import ForgeError
from .base import ChangedFile, Comment, ForgeHTTP, PullRequest, StatusRow

__all__ = ["ForgejoForge", "GiteaForge"]

PAGE_LIMIT = 50
_LABEL_COLOR = "#6e7781"


class ForgejoForge:
    """One repository on a Forgejo server.

    Args:
        url: the server root (``https://codeberg.org``); ``/api/v1`` is appended.
        repo: ``owner/name``.
        token: the API token (never printed).
        http: an injected :class:`ForgeHTTP` (tests); built from the arguments when None.
    """

    name: ClassVar[str] = "forgejo"
    states: ClassVar[frozenset[str]] = frozenset({"pending", "success", "error", "failure",
                                                  "warning"})

    def __init__(self, url: str, repo: str, token: str | None, *, http: ForgeHTTP | None = None,
                 bot_login: str | None = None):
        self.repo = repo
        self.http = http or ForgeHTTP(url.rstrip("/") + "/api/v1",
                                      f"token {token}" if token else None)
        self._login = bot_login
        self._label_ids: dict[str, int] | None = None

    @property
    def _r(self) -> str:
        return f"/repos/{self.repo}"

    def get_pull(self, number: int) -> PullRequest:
        """The pull request; raises ForgeError (404) when it does not exist."""
        data = self.http.json("GET", f"{self._r}/pulls/{number}")
        return PullRequest(number=data["number"], title=data.get("title") or "",
                           body=data.get("body") or "", head_sha=data["head"]["sha"],
                           base_sha=data.get("base", {}).get("sha") or "",
                           html_url=data.get("html_url") or "",
                           author=(data.get("user") or {}).get("login", ""),
                           state=data.get("state") or "open")

    def get_diff(self, number: int) -> str:
        """The unified diff of the pull request."""
        return self.http.request("GET", f"{self._r}/pulls/{number}.diff").text

    def list_files(self, number: int) -> list[ChangedFile]:
        """Every changed file, all pages."""
        return [ChangedFile(filename=f["filename"], status=f.get("status", ""),
                            additions=f.get("additions", 0), deletions=f.get("deletions", 0))
                for f in self.http.pages(f"{self._r}/pulls/{number}/files", size_param="limit",
                                         size=PAGE_LIMIT)]

    def whoami(self) -> str:
        """The login of the token's user (the bot), from ``GET /user``."""
        if self._login is None:
            self._login = self.http.json("GET", "/user")["login"]
        return self._login

    def _comment(self, data: dict[str, Any]) -> Comment:
        return Comment(id=data["id"], body=data.get("body") or "",
                       author=(data.get("user") or {}).get("login", ""),
                       html_url=data.get("html_url") or "", created_at=data.get("created_at", ""))

    def list_comments(self, number: int) -> list[Comment]:
        """Every comment, ascending by creation (the endpoint returns all of them)."""
        out: list[Comment] = []
        for item in self.http.pages(f"{self._r}/issues/{number}/comments", size_param=None):
            out.append(self._comment(item))
        return out

    def create_comment(self, number: int, body: str) -> Comment:
        """Post a new comment."""
        return self._comment(self.http.json("POST", f"{self._r}/issues/{number}/comments",
                                            json={"body": body}))

    def edit_comment(self, comment_id: int, body: str) -> Comment:
        """Edit a comment in place."""
        return self._comment(self.http.json("PATCH", f"{self._r}/issues/comments/{comment_id}",
                                            json={"body": body}))

    def set_status(self, sha: str, *, state: str, context: str, description: str,
                   target_url: str = "") -> None:
        """Append a commit status row on ``sha``."""
        if state not in self.states:
            raise ForgeError(f"refusing to post unknown status state {state!r}")
        body = {"state": state, "context": context, "description": description}
        if target_url:
            body["target_url"] = target_url
        self.http.json("POST", f"{self._r}/statuses/{sha}", json=body)

    def list_statuses(self, sha: str) -> list[StatusRow]:
        """Every status row of ``sha`` (state read from ``status``; ``state`` as a fallback)."""
        return [StatusRow(state=s.get("status") or s.get("state") or "",
                          context=s.get("context", ""), description=s.get("description", ""),
                          target_url=s.get("target_url", ""), created_at=s.get("created_at", ""),
                          id=s.get("id", 0))
                for s in self.http.pages(f"{self._r}/commits/{sha}/statuses", size_param="limit",
                                         size=PAGE_LIMIT)]

    def permission(self, user: str) -> str:
        """``none``/``read``/``write``/``admin``/``owner`` for ``user`` (404: ``none``)."""
        try:
            data = self.http.json("GET", f"{self._r}/collaborators/{user}/permission")
        except ForgeError as exc:
            if exc.status_code in (403, 404):
                return "none"
            raise
        return (data or {}).get("permission") or "none"

    def issue_labels(self, number: int) -> list[tuple[int, str]]:
        """The labels on the pull request as (id, name)."""
        return [(lab["id"], lab["name"])
                for lab in self.http.json("GET", f"{self._r}/issues/{number}/labels") or []]

    def _resolve_labels(self, names: list[str]) -> list[int]:
        if self._label_ids is None:
            self._label_ids = {lab["name"]: lab["id"] for lab in self.http.pages(
                f"{self._r}/labels", size_param="limit", size=PAGE_LIMIT)}
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

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()


class GiteaForge(ForgejoForge):
    """Gitea: the same API for everything the gate uses (``forge-api/gitea-openapi.v1.json``)."""

    name: ClassVar[str] = "gitea"
