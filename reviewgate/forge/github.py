"""GitHub (github.com and GitHub Enterprise Server).

Differences from Forgejo that matter here (GitHub REST API docs; DESIGN.md section 5):

- API root ``https://api.github.com`` (Enterprise: ``<url>/api/v3``); ``Authorization: Bearer``;
- the diff is ``GET /repos/{o}/{r}/pulls/{n}`` with ``Accept: application/vnd.github.diff``;
- lists page with ``per_page`` (max 100) and ``Link`` headers; the issue-comments endpoint
  ignores ``sort``/``direction`` and returns comments oldest first;
- four status states (``error``, ``failure``, ``pending``, ``success``); a status row reports its
  state in ``state``;
- labels are added by name (GitHub creates missing ones) and removed by name;
- an Actions ``GITHUB_TOKEN`` cannot read ``GET /user``: the bot is ``github-actions[bot]``.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

from ..errors import ForgeError
from .base import ChangedFile, Comment, ForgeHTTP, PullRequest, StatusRow

__all__ = ["GitHubForge"]

PER_PAGE = 100
ACTIONS_BOT = "github-actions[bot]"


def api_root(url: str) -> str:
    """The REST API root for a GitHub web or API URL."""
    url = url.rstrip("/")
    if url in ("https://github.com", "http://github.com", "https://api.github.com"):
        return "https://api.github.com"
    if url.endswith("/api/v3"):
        return url
    return url + "/api/v3"


class GitHubForge:
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

    def __init__(self, url: str, repo: str, token: str | None, *, http: ForgeHTTP | None = None,
                 bot_login: str | None = None):
        self.repo = repo
        self.http = http or ForgeHTTP(api_root(url), f"Bearer {token}" if token else None,
                                      extra_headers={"Accept": "application/vnd.github+json",
                                                     "X-GitHub-Api-Version": "2022-11-28"})
        self._login = bot_login

    @property
    def _r(self) -> str:
        return f"/repos/{self.repo}"

    def get_pull(self, number: int) -> PullRequest:
        """The pull request; raises ForgeError (404) when it does not exist."""
        data = self.http.json("GET", f"{self._r}/pulls/{number}")
        return PullRequest(number=data["number"], title=data.get("title") or "",
                           body=data.get("body") or "", head_sha=data["head"]["sha"],
                           base_sha=data["base"]["sha"], html_url=data.get("html_url") or "",
                           author=(data.get("user") or {}).get("login", ""),
                           state=data.get("state") or "open")

    def get_diff(self, number: int) -> str:
        """The unified diff, via the diff media type."""
        return self.http.request("GET", f"{self._r}/pulls/{number}",
                                 headers={"Accept": "application/vnd.github.diff"}).text

    def list_files(self, number: int) -> list[ChangedFile]:
        """Every changed file, all pages."""
        return [ChangedFile(filename=f["filename"], status=f.get("status", ""),
                            additions=f.get("additions", 0), deletions=f.get("deletions", 0))
                for f in self.http.pages(f"{self._r}/pulls/{number}/files",
                                         size_param="per_page", size=PER_PAGE)]

    def whoami(self) -> str:
        """The bot's login: ``GET /user``, or ``github-actions[bot]`` for an Actions token."""
        if self._login is None:
            try:
                self._login = self.http.json("GET", "/user")["login"]
            except ForgeError as exc:
                if exc.status_code not in (401, 403):
                    raise
                self._login = ACTIONS_BOT
        return self._login

    def _comment(self, data: dict[str, Any]) -> Comment:
        return Comment(id=data["id"], body=data.get("body") or "",
                       author=(data.get("user") or {}).get("login", ""),
                       html_url=data.get("html_url") or "", created_at=data.get("created_at", ""))

    def list_comments(self, number: int) -> list[Comment]:
        """Every comment, all pages, sorted by creation (the API ignores sort parameters)."""
        items = [self._comment(c) for c in self.http.pages(
            f"{self._r}/issues/{number}/comments", size_param="per_page", size=PER_PAGE)]
        return sorted(items, key=lambda c: (c.created_at, c.id))

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
        """Create a commit status on ``sha`` (GitHub accepts four states)."""
        if state not in self.states:
            raise ForgeError(f"GitHub does not accept status state {state!r}")
        body = {"state": state, "context": context, "description": description}
        if target_url:
            body["target_url"] = target_url
        self.http.json("POST", f"{self._r}/statuses/{sha}", json=body)

    def list_statuses(self, sha: str) -> list[StatusRow]:
        """Every status row of ``sha``, newest first as GitHub returns them."""
        return [StatusRow(state=s.get("state", ""), context=s.get("context", ""),
                          description=s.get("description") or "",
                          target_url=s.get("target_url") or "",
                          created_at=s.get("created_at", ""), id=s.get("id", 0))
                for s in self.http.pages(f"{self._r}/commits/{sha}/statuses",
                                         size_param="per_page", size=PER_PAGE)]

    def permission(self, user: str) -> str:
        """``none``/``read``/``write``/``admin`` (``maintain`` counts as write)."""
        try:
            data = self.http.json("GET", f"{self._r}/collaborators/{quote(user)}/permission")
        except ForgeError as exc:
            if exc.status_code in (403, 404):
                return "none"
            raise
        return (data or {}).get("permission") or "none"

    def issue_labels(self, number: int) -> list[tuple[int, str]]:
        """The labels on the pull request as (id, name)."""
        return [(lab["id"], lab["name"]) for lab in self.http.pages(
            f"{self._r}/issues/{number}/labels", size_param="per_page", size=PER_PAGE)]

    def add_labels(self, number: int, names: list[str]) -> None:
        """Add labels by name."""
        if names:
            self.http.json("POST", f"{self._r}/issues/{number}/labels", json={"labels": names})

    def remove_label(self, number: int, label: tuple[int, str]) -> None:
        """Remove one label by name."""
        self.http.request("DELETE", f"{self._r}/issues/{number}/labels/{quote(label[1])}")

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()
