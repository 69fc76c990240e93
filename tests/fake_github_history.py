"""A fake GitHub holding a repository's history of pull requests, for ``reviewgate dataset
build``: closed and merged pull requests listed with ``state``/``sort``/``direction`` and
``per_page`` paging, each with its diff (406 ``too_large`` when refused), files, reviews and
review comments (``original_commit_id``, ``original_line``, ``side``, ``in_reply_to_id``,
``user.type``), the compare endpoint over commit texts (``FakeGitHub``), and rate limits (403
with ``x-ratelimit-remaining: 0``, 429 with ``retry-after``). Shapes follow the GitHub REST
docs ("List pull requests", "List review comments on a pull request", "List reviews for a pull
request", "Troubleshooting the REST API")."""

from __future__ import annotations

import re
import time
from typing import Any

from fake_github import FakeGitHub


class FakeGitHubHistory(FakeGitHub):
    """Repository ``owner/repo`` with ``pulls`` (number -> pull request); ``page_cap`` is the
    most items a page holds; ``rate_limits`` queues rate-limit refusals for the next requests
    (``"primary"``: 403, remaining 0, reset now; ``"secondary"``: 429, retry-after 0)."""

    def __init__(self) -> None:
        super().__init__(diff="", head="f" * 40, files=[])
        self.pulls: dict[int, dict[str, Any]] = {}
        self.page_cap = 100
        self.rate_limits: list[str] = []
        self.served_limits = 0

    def add_pull(self, number: int, *, title: str, author: str, head: str, base: str,
                 diff: str, files: list[dict[str, Any]], state: str = "closed",
                 merged_at: str | None = None, updated_at: str, refuse_diff: bool = False,
                 body: str = "") -> dict[str, Any]:
        """A pull request; ``base`` is the base branch's sha (the merge base here)."""
        pull = {"number": number, "title": title, "author": author, "head": head, "base": base,
                "diff": diff, "files": files, "state": state, "merged_at": merged_at,
                "updated_at": updated_at, "refuse_diff": refuse_diff, "body": body,
                "reviews": [], "comments": []}
        self.pulls[number] = pull
        return pull

    def add_review(self, number: int, user: str, state: str, body: str = "",
                   commit_id: str = "", user_type: str = "User",
                   comments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """A submitted review (``APPROVED``, ``CHANGES_REQUESTED``, ``COMMENTED``); its
        ``comments``: ``path``, ``body``, ``original_line``, ``side``, optionally ``user``,
        ``user_type``, ``in_reply_to_id``, ``original_commit_id`` (default: the review's),
        ``commit_id``, ``subject_type``, ``diff_hunk``."""
        pull = self.pulls[number]
        self._id += 1
        review = {"id": self._id, "user": {"login": user, "type": user_type}, "body": body,
                  "state": state, "commit_id": commit_id,
                  "html_url": f"https://github.com/owner/repo/pull/{number}"
                              f"#pullrequestreview-{self._id}",
                  "submitted_at": f"2026-10-01T00:00:{self._id % 60:02d}Z"}
        pull["reviews"].append(review)
        for c in comments or []:
            self._id += 1
            line = c.get("original_line")
            pull["comments"].append({
                "id": self._id, "pull_request_review_id": review["id"],
                "user": {"login": c.get("user", user), "type": c.get("user_type", user_type)},
                "body": c["body"], "path": c["path"], "side": c.get("side", "RIGHT"),
                "original_line": line, "line": c.get("line", line),
                "position": c.get("line", line), "original_position": line or 1,
                "commit_id": c.get("commit_id", commit_id),
                "original_commit_id": c.get("original_commit_id", commit_id),
                "in_reply_to_id": c.get("in_reply_to_id"),
                "subject_type": c.get("subject_type", "line"),
                "diff_hunk": c.get("diff_hunk", "@@ -1 +1 @@\n x"),
                "created_at": f"2026-10-01T00:01:{self._id % 60:02d}Z",
                "html_url": f"https://github.com/owner/repo/pull/{number}"
                            f"#discussion_r{self._id}"})
        return review

    def _pull_json(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"number": p["number"], "title": p["title"], "body": p["body"] or None,
                "state": p["state"], "merged_at": p["merged_at"], "updated_at": p["updated_at"],
                "html_url": f"https://github.com/owner/repo/pull/{p['number']}",
                "user": {"login": p["author"], "type": "User"},
                "head": {"sha": p["head"], "ref": f"topic-{p['number']}"},
                "base": {"sha": p["base"], "ref": "main"}}

    def _page(self, items, query, path):
        """A page with a ``Link`` to the next one that keeps the other query parameters, as
        GitHub's does."""
        status, chunk, headers = super()._page(items, query, path)
        if "Link" in headers:
            kept = "".join(f"&{k}={v[0]}" for k, v in query.items() if k not in ("page",
                                                                                "per_page"))
            headers["Link"] = headers["Link"].replace('>; rel="next"', f'{kept}>; rel="next"')
        return status, chunk, headers

    def _capped(self, query: dict[str, list[str]]) -> dict[str, list[str]]:
        per_page = min(int(query.get("per_page", ["30"])[0]), self.page_cap)
        return {**query, "per_page": [str(per_page)]}

    def route(self, method, path, query, body, headers):
        if self.rate_limits:
            kind = self.rate_limits.pop(0)
            self.served_limits += 1
            if kind == "primary":
                return 403, {"message": "API rate limit exceeded"}, {
                    "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()))}
            return 429, {"message": "You have exceeded a secondary rate limit"}, {
                "retry-after": "0"}
        r = "/api/v3/repos/owner/repo"
        if not headers.get("authorization", "").startswith("Bearer "):
            return 401, {"message": "Requires authentication"}, {}
        if method == "GET" and path == f"{r}/pulls":
            state = query.get("state", ["open"])[0]
            pulls = [p for p in self.pulls.values() if state == "all" or p["state"] == state]
            if query.get("sort") == ["updated"] and query.get("direction") == ["desc"]:
                pulls.sort(key=lambda p: p["updated_at"], reverse=True)
            else:
                pulls.sort(key=lambda p: p["number"], reverse=True)
                self.problems.append(f"pull list without sort=updated&direction=desc: {query}")
            return self._page([self._pull_json(p) for p in pulls], self._capped(query), path)
        m = re.fullmatch(rf"{r}/pulls/(\d+)(/files|/reviews|/comments)?", path)
        if m and method == "GET" and int(m.group(1)) in self.pulls:
            p = self.pulls[int(m.group(1))]
            what = m.group(2)
            if what == "/files":
                return self._page(p["files"], self._capped(query), path)
            if what == "/reviews":
                return self._page(p["reviews"], self._capped(query), path)
            if what == "/comments":
                return self._page(p["comments"], self._capped(query), path)
            if headers.get("accept") == "application/vnd.github.diff":
                if p["refuse_diff"]:
                    return 406, {"message": "Sorry, the diff exceeded the maximum number of "
                                 "lines (20000).", "errors": [{"resource": "PullRequest",
                                                               "field": "diff",
                                                               "code": "too_large"}]}, {}
                return 200, p["diff"], {"Content-Type": "text/plain"}
            return 200, self._pull_json(p), {}
        return super().route(method, path, query, body, headers)
