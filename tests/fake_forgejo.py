"""A stateful fake Forgejo on 127.0.0.1 that checks every request and response against the
official OpenAPI document (``tests/data/forge-api/forgejo-openapi.v1.json``).

State: users and tokens, pull requests (diff, files, head SHA; open, closed or merged), issue
comments (ascending by creation, all returned at once as the real endpoint does), commit
statuses appended as rows, repository and issue labels, file trees per commit
(``trees[sha][path]``, served by the raw endpoint) and pull request reviews with their line
comments (``add_review``). Lists that page are capped at 50 items (``page_cap`` lowers the cap,
as a server's ``MAX_RESPONSE_ITEMS`` does) and send ``Link`` and ``X-Total-Count``.
``violations`` collects every spec mismatch; tests assert it stays empty.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

from fake_git import FileView, Trees, content_view, pull_views, with_index
from loopback import reachable
from openapi_check import SpecCheck

SPEC = Path(__file__).parent / "data" / "forge-api" / "forgejo-openapi.v1.json"
MAX_LIMIT = 50
_spec_check: SpecCheck | None = None


def spec_check() -> SpecCheck:
    """The parsed spec, loaded once per test session."""
    global _spec_check
    if _spec_check is None:
        _spec_check = SpecCheck(SPEC)
    return _spec_check


@dataclass
class FakePR:
    """A pull request in the fake."""

    number: int
    title: str
    body: str
    diff: str
    head_sha: str
    base_sha: str = "b" * 40
    files: list[dict[str, Any]] = field(default_factory=list)
    author: str = "alice"
    old_heads: list[str] = field(default_factory=list)
    #: the stored merge base (``merge_base`` of the API object); empty: the base SHA
    merge_base: str = ""
    #: bumped by every push (Forgejo sets the issue's ``updated_unix`` on a push comment)
    pushes: int = 0
    #: "open" or "closed"; ``merged_at`` (RFC 3339) set on a merged one
    state: str = "open"
    merged_at: str = ""
    #: the issue's ``updated_at`` (empty: derived from ``pushes``)
    updated_at: str = ""
    #: the ``.diff`` endpoint answers 406 as too large (Forgejo declares only 200 and 404 for
    #: it: a test that sets this expects that one spec violation)
    refuse_diff: bool = False

    def move_head(self, sha: str) -> None:
        """Simulate a push: the head SHA changes, the old one stays a known commit."""
        self.old_heads.append(self.head_sha)
        self.head_sha = sha
        self.pushes += 1


class FakeForgejo:
    """The fake server. Owner/repo is ``owner/repo``; the bot's token is ``bot-token``."""

    def __init__(self) -> None:
        self.repo = "owner/repo"
        self.tokens = {"bot-token": "reviewbot", "readonly-token": "reader"}
        self.permissions = {"reviewbot": "write", "maintainer": "write", "owner": "owner",
                            "stranger": "read"}
        self.prs: dict[int, FakePR] = {}
        self.comments: list[dict[str, Any]] = []
        self.statuses: dict[str, list[dict[str, Any]]] = {}
        self.labels: dict[int, dict[str, Any]] = {}
        self.issue_labels: dict[int, set[int]] = {}
        self.violations: list[str] = []
        self.log: list[tuple[str, str]] = []
        self.fail_status_posts = 0
        #: Faults for the next comment POSTs, in order: "500" (nothing created), "landed-500"
        #: (created, then 500: a reply lost after the server did the work), "409".
        self.comment_post_faults: list[str] = []
        #: Review POSTs to fail with 500, nothing created
        self.fail_review_posts = 0
        self.on_diff: Callable[[FakePR], None] | None = None
        #: commit SHA -> path -> file text or bytes (``GET /repos/{o}/{r}/raw/{path}?ref=SHA``)
        self.trees: dict[str, dict[str, str | bytes]] = {}
        #: reviews: id, number, user, body, commit_id, state, comments (path, new/old position)
        self.reviews: list[dict[str, Any]] = []
        self.raw_reads: list[tuple[str, str]] = []
        #: commit SHA -> parent SHAs (``GET /repos/{o}/{r}/compare/{old}...{new}``); a commit
        #: not in it is unknown to the compare endpoint (404), as a force-pushed-away head
        self.parents: dict[str, list[str]] = {}
        #: False: the compare answer has no ``files`` (as Gitea's ``Compare``)
        self.compare_files = True
        #: the files the compare answer lists (None: every file that differs, as between two
        #: trees; Forgejo lists each commit's files against its first parent only)
        self.compare_listed: list[str] | None = None
        #: git trees (``GET .../git/trees/{sha}``), derived from each pull request's diff;
        #: ``frozen`` keeps a head's files as they were (``freeze``), whatever diff is served
        self.git = Trees()
        self.frozen: dict[str, tuple[FileView, FileView]] = {}
        self.last_read = 0
        #: the most items a list page holds (the server's cap; the API's own is 50)
        self.page_cap = MAX_LIMIT
        self._ids = 1000
        # near the real clock: the gate reads a pending status older than 30 minutes as error
        self._clock = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(
            minutes=5)
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    # --- helpers ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The server root (``/api/v1`` is below it)."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def _id(self) -> int:
        self._ids += 1
        return self._ids

    def _now(self) -> str:
        self._clock += dt.timedelta(seconds=1)
        return self._clock.isoformat().replace("+00:00", "Z")

    def _user(self, login: str) -> dict[str, Any]:
        return {"id": abs(hash(login)) % 10_000, "login": login, "full_name": login,
                "email": f"{login}@example.invalid", "avatar_url": "", "html_url":
                f"{self.url}/{login}", "is_admin": False, "active": True}

    def add_pr(self, pr: FakePR) -> None:
        """Add a pull request."""
        self.prs[pr.number] = pr

    def add_comment(self, number: int, login: str, body: str) -> dict[str, Any]:
        """Add a comment as ``login``."""
        cid = self._id()
        comment = {"id": cid, "issue": number, "body": body, "user": login,
                   "created_at": self._now()}
        comment["updated_at"] = comment["created_at"]
        self.comments.append(comment)
        return comment

    def comment_json(self, c: dict[str, Any]) -> dict[str, Any]:
        """A comment as the API shows it."""
        base = f"{self.url}/{self.repo}"
        return {"id": c["id"], "body": c["body"], "user": self._user(c["user"]),
                "html_url": f"{base}/pulls/{c['issue']}#issuecomment-{c['id']}",
                "issue_url": f"{base}/issues/{c['issue']}",
                "pull_request_url": f"{base}/pulls/{c['issue']}",
                "created_at": c["created_at"], "updated_at": c["updated_at"],
                "original_author": "", "original_author_id": 0, "assets": []}

    def pr_comments(self, number: int) -> list[dict[str, Any]]:
        """Comments on pull request ``number`` in creation order."""
        return [c for c in self.comments if c["issue"] == number]

    def status_rows(self, sha: str) -> list[dict[str, Any]]:
        """Status rows posted on ``sha`` in posting order."""
        return self.statuses.get(sha, [])

    def _pull_views(self, pr: FakePR) -> tuple[FileView, FileView]:
        base = pr.merge_base or pr.base_sha
        return pull_views(pr.diff, pr.files, self.trees.get(base), self.trees.get(pr.head_sha))

    def freeze(self, pr: FakePR) -> None:
        """Fix the git trees of ``pr``'s head and merge base to its current diff: a diff
        served later (a race) is another commit's."""
        self.frozen[pr.head_sha] = self._pull_views(pr)

    def served_diff(self, pr: FakePR) -> str | bytes:
        """The diff as the forge serves it: with the ``index`` lines git writes."""
        return with_index(pr.diff, self.trees.get(pr.merge_base or pr.base_sha),
                          self.trees.get(pr.head_sha))

    def views(self) -> dict[str, FileView]:
        """Commit SHA -> its files: every commit the fake holds as texts, and every pull
        request's head and merge base as its diff makes them (two pull requests on one head:
        the one read last)."""
        out: dict[str, FileView] = {sha: content_view(files) for sha, files in self.trees.items()}
        order = sorted(self.prs.values(), key=lambda p: p.number == self.last_read)
        for pr in order:
            old, new = self.frozen.get(pr.head_sha) or self._pull_views(pr)
            out[pr.merge_base or pr.base_sha] = old
            out[pr.head_sha] = new
        return out

    def ancestors(self, sha: str) -> set[str]:
        """``sha`` and every commit reachable from it through ``parents``."""
        return reachable(self.parents, sha)

    def _compare(self, basehead: str) -> tuple[int, Any, dict[str, str]]:
        old, _, new = basehead.partition("...")
        if old not in self.parents or new not in self.parents:
            return 404, {"message": "commit does not exist", "url": ""}, {}
        listed = sorted(self.ancestors(new) - self.ancestors(old))
        meta = lambda sha: {"sha": sha, "url": f"{self.url}/api/v1/repos/{self.repo}/git/"  # noqa: E731
                            f"commits/{sha}", "created": self._now()}
        commits = [{**meta(sha), "html_url": f"{self.url}/{self.repo}/commit/{sha}",
                    "parents": [meta(p) for p in self.parents.get(sha, [])]} for sha in listed]
        a, b = self.trees.get(old, {}), self.trees.get(new, {})
        files = [{"filename": path, "status": "added" if path not in a else
                  "removed" if path not in b else "modified"}
                 for path in sorted(set(a) | set(b)) if a.get(path) != b.get(path)]
        if self.compare_listed is not None:
            files = [f for f in files if f["filename"] in self.compare_listed]
        answer = {"commits": commits, "files": files, "total_commits": len(commits)}
        if not self.compare_files:
            del answer["files"]
        return 200, answer, {}

    # --- routes --------------------------------------------------------------------------
    def _route(self, method: str, rel: str, query: dict[str, list[str]], body: Any,
               login: str) -> tuple[int, Any, dict[str, str]]:
        r = f"/repos/{self.repo}"
        if method == "GET" and rel == "/user":
            return 200, self._user(login), {}
        if method == "GET" and rel == f"{r}/pulls":
            return self._page(self._pull_list(query), query)
        m = re.fullmatch(rf"{r}/pulls/(\d+)(\.diff|/files)?", rel)
        if m and method == "GET":
            pr = self.prs.get(int(m.group(1)))
            if pr is None:
                return 404, {"message": "pull request does not exist", "url": ""}, {}
            self.last_read = pr.number
            if m.group(2) == ".diff":
                if pr.refuse_diff:
                    return 406, {"message": "the diff is too large", "url": ""}, {}
                if self.on_diff:
                    self.on_diff(pr)
                return 200, self.served_diff(pr), {"Content-Type": "text/plain; charset=utf-8"}
            if m.group(2) == "/files":
                return self._page(pr.files, query)
            return 200, self._pr_json(pr), {}
        m = re.fullmatch(rf"{r}/issues/(\d+)/comments", rel)
        if m:
            number = int(m.group(1))
            if method == "GET":
                return 200, [self.comment_json(c) for c in self.pr_comments(number)], {}
            if login == "reader":
                return 403, {"message": "token does not have write access", "url": ""}, {}
            fault = self.comment_post_faults.pop(0) if self.comment_post_faults else ""
            if fault == "423":
                return 423, {"message": "repository is archived", "url": ""}, {}
            if fault == "500":
                return 500, {"message": "internal error", "url": ""}, {}
            created = self.comment_json(self.add_comment(number, login, body["body"]))
            if fault == "landed-500":
                return 500, {"message": "internal error", "url": ""}, {}
            return 201, created, {}
        m = re.fullmatch(rf"{r}/issues/comments/(\d+)", rel)
        if m and method == "DELETE":
            for c in self.comments:
                if c["id"] == int(m.group(1)):
                    if c["user"] != login:
                        return 403, {"message": "not your comment", "url": ""}, {}
                    self.comments.remove(c)
                    return 204, None, {}
            return 500, {"message": "comment does not exist", "url": ""}, {}
        if m and method == "PATCH":
            for c in self.comments:
                if c["id"] == int(m.group(1)):
                    if c["user"] != login:
                        return 403, {"message": "not your comment", "url": ""}, {}
                    c["body"], c["updated_at"] = body["body"], self._now()
                    return 200, self.comment_json(c), {}
            return 404, {"message": "comment does not exist", "url": ""}, {}
        m = re.fullmatch(rf"{r}/compare/([^/]+)", rel)
        if m and method == "GET":
            return self._compare(m.group(1))
        m = re.fullmatch(rf"{r}/git/trees/([0-9a-f]+)", rel)
        if m and method == "GET":
            listing = self.git.listing(m.group(1), self.views(),
                                       page=int(query.get("page", ["1"])[0]),
                                       per_page=int(query.get("per_page", ["1000"])[0]))
            if listing is None:
                return 404, {"message": "sha not found", "url": ""}, {}
            return 200, listing, {}
        m = re.fullmatch(rf"{r}/raw/(.+)", rel)
        if m and method == "GET":
            ref = query.get("ref", [""])[0]
            self.raw_reads.append((m.group(1), ref))
            text = self.trees.get(ref, {}).get(unquote(m.group(1)))
            if text is None:
                return 404, {"message": "file does not exist", "url": ""}, {}
            return 200, text, {"Content-Type": "application/octet-stream"}
        m = re.fullmatch(rf"{r}/pulls/(\d+)/reviews", rel)
        if m:
            number = int(m.group(1))
            if method == "GET":
                return self._page([self._review_json(v) for v in self.reviews
                                   if v["number"] == number], query)
            pr = self.prs.get(number)
            if pr is None:
                return 404, {"message": "pull request does not exist", "url": ""}, {}
            if self.fail_review_posts > 0:
                self.fail_review_posts -= 1
                return 500, {"message": "internal error", "url": ""}, {}
            paths = {f["filename"] for f in pr.files}
            for c in body.get("comments") or []:
                if c.get("path") not in paths or (c.get("new_position") or 0) <= 0 and (
                        c.get("old_position") or 0) <= 0:
                    return 422, {"message": f"invalid line comment {c}", "url": ""}, {}
            review = {"id": self._id(), "number": number, "user": login,
                      "body": body.get("body", ""), "commit_id": body.get("commit_id", ""),
                      "state": body.get("event", "COMMENT"), "at": self._now(),
                      "comments": list(body.get("comments") or [])}
            self.reviews.append(review)
            return 200, self._review_json(review), {}
        m = re.fullmatch(rf"{r}/pulls/(\d+)/reviews/(\d+)/comments", rel)
        if m and method == "GET":
            for v in self.reviews:
                if v["id"] == int(m.group(2)) and v["number"] == int(m.group(1)):
                    return 200, [self._review_comment_json(v, c) for c in v["comments"]], {}
            return 404, {"message": "review does not exist", "url": ""}, {}
        m = re.fullmatch(rf"{r}/pulls/(\d+)/reviews/(\d+)", rel)
        if m and method == "DELETE":
            for v in self.reviews:
                if v["id"] == int(m.group(2)) and v["number"] == int(m.group(1)):
                    if v["user"] != login:
                        return 403, {"message": "not your review", "url": ""}, {}
                    self.reviews.remove(v)
                    return 204, None, {}
            return 404, {"message": "review does not exist", "url": ""}, {}
        m = re.fullmatch(rf"{r}/statuses/([0-9a-f]+)", rel)
        if m and method == "POST":
            sha = m.group(1)
            if login == "reader":
                return 403, {"message": "token does not have write access", "url": ""}, {}
            if self.fail_status_posts > 0:
                self.fail_status_posts -= 1
                return 500, {"message": "internal error", "url": ""}, {}
            if not any(sha in (p.head_sha, p.base_sha) or sha in p.old_heads
                       for p in self.prs.values()):
                return 500, {"message": "object does not exist", "url": ""}, {}
            row = {"id": self._id(), "status": body.get("state", ""),
                   "context": body.get("context", ""),
                   "description": body.get("description", ""),
                   "target_url": body.get("target_url", ""), "created_at": self._now(),
                   "url": f"{self.url}/api/v1{r}/statuses/{sha}", "creator": self._user(login)}
            row["updated_at"] = row["created_at"]
            self.statuses.setdefault(sha, []).append(row)
            return 201, row, {}
        m = re.fullmatch(rf"{r}/commits/([0-9a-f]+)/statuses", rel)
        if m and method == "GET":
            return self._page(list(reversed(self.status_rows(m.group(1)))), query)
        m = re.fullmatch(rf"{r}/collaborators/([^/]+)/permission", rel)
        if m and method == "GET":
            user = m.group(1)
            if user not in self.permissions:
                return 404, {"message": "user does not exist", "url": ""}, {}
            return 200, {"permission": self.permissions[user], "role_name":
                         self.permissions[user], "user": self._user(user)}, {}
        if rel == f"{r}/labels":
            if method == "GET":
                return self._page([self._label(i) for i in sorted(self.labels)], query)
            lid = self._id()
            self.labels[lid] = {"name": body["name"], "color": body["color"]}
            return 201, self._label(lid), {}
        m = re.fullmatch(rf"{r}/issues/(\d+)/labels(?:/(\d+))?", rel)
        if m:
            number = int(m.group(1))
            current = self.issue_labels.setdefault(number, set())
            if method == "GET":
                return 200, [self._label(i) for i in sorted(current)], {}
            if method == "POST":
                current.update(i for i in body["labels"] if isinstance(i, int) and i in self.labels)
                return 200, [self._label(i) for i in sorted(current)], {}
            if method == "DELETE" and m.group(2):
                current.discard(int(m.group(2)))
                return 204, None, {}
        return 404, {"message": f"fake has no route for {method} {rel}", "url": ""}, {}

    def _review_json(self, v: dict[str, Any]) -> dict[str, Any]:
        base = f"{self.url}/{self.repo}"
        return {"id": v["id"], "body": v["body"], "user": self._user(v["user"]),
                "commit_id": v["commit_id"], "state": v["state"], "stale": False,
                "dismissed": False, "official": False, "comments_count": len(v["comments"]),
                "html_url": f"{base}/pulls/{v['number']}#issuecomment-{v['id']}",
                "pull_request_url": f"{base}/pulls/{v['number']}", "submitted_at": v["at"],
                "updated_at": v["at"]}

    def add_review(self, number: int, user: str, state: str, body: str = "",
                   commit_id: str = "", comments: list[dict[str, Any]] | None = None
                   ) -> dict[str, Any]:
        """A submitted review by ``user`` (``state``: APPROVED, REQUEST_CHANGES, COMMENT,
        PENDING). ``comments``: ``path``, ``body``, ``new_position`` (line in the new file) or
        ``old_position`` (in the old), and optionally ``user`` (a reply by another user is
        stored in the review it answers, as Forgejo does), ``diff_hunk``, ``commit_id``."""
        review = {"id": self._id(), "number": number, "user": user, "body": body,
                  "commit_id": commit_id, "state": state, "at": self._now(),
                  "comments": [{**c, "id": self._id(), "at": self._now()}
                               for c in comments or []]}
        self.reviews.append(review)
        return review

    def _review_comment_json(self, v: dict[str, Any], c: dict[str, Any]) -> dict[str, Any]:
        """A line comment as ``PullReviewComment``: ``position`` the new-side line,
        ``original_position`` the old-side one (``services/convert/pull_review.go``)."""
        base = f"{self.url}/{self.repo}"
        cid = c.get("id") or self._id()
        return {"id": cid, "body": c.get("body", ""), "user": self._user(c.get("user") or
                                                                         v["user"]),
                "path": c.get("path", ""), "position": c.get("new_position") or 0,
                "original_position": c.get("old_position") or 0,
                "commit_id": c.get("commit_id", v["commit_id"]),
                "original_commit_id": "", "diff_hunk": c.get("diff_hunk", ""),
                "pull_request_review_id": v["id"], "created_at": c.get("at", v["at"]),
                "updated_at": c.get("at", v["at"]),
                "html_url": f"{base}/pulls/{v['number']}#issuecomment-{cid}",
                "pull_request_url": f"{base}/pulls/{v['number']}"}

    def _pull_list(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        """``GET /repos/{o}/{r}/pulls``: ``state`` open (default), closed or all; ``sort``
        recentupdate orders by the issue's ``updated_at`` descending, else newest first."""
        state = query.get("state", ["open"])[0]
        prs = [p for p in self.prs.values() if state == "all" or p.state == state]
        if query.get("sort", [""])[0] == "recentupdate":
            prs.sort(key=lambda p: self._pr_json(p)["updated_at"], reverse=True)
        else:
            prs.sort(key=lambda p: p.number, reverse=True)
        return [self._pr_json(p) for p in prs]

    def pr_reviews(self, number: int) -> list[dict[str, Any]]:
        """Reviews on pull request ``number`` in posting order."""
        return [v for v in self.reviews if v["number"] == number]

    def _label(self, lid: int) -> dict[str, Any]:
        label = self.labels[lid]
        return {"id": lid, "name": label["name"], "color": label["color"].lstrip("#"),
                "description": "", "exclusive": False, "is_archived": False,
                "url": f"{self.url}/api/v1/repos/{self.repo}/labels/{lid}"}

    def _pr_json(self, pr: FakePR) -> dict[str, Any]:
        base = f"{self.url}/{self.repo}"
        merged = {"merged_at": pr.merged_at, "merge_commit_sha": "c" * 40} if pr.merged_at else {}
        return {**merged, "id": pr.number + 500, "number": pr.number, "title": pr.title,
                "body": pr.body, "state": pr.state, "user": self._user(pr.author), "html_url":
                f"{base}/pulls/{pr.number}", "diff_url": f"{base}/pulls/{pr.number}.diff",
                "head": {"label": "feature", "ref": "feature", "sha": pr.head_sha, "repo_id": 1},
                "base": {"label": "main", "ref": "main", "sha": pr.base_sha, "repo_id": 1},
                "mergeable": True, "merged": bool(pr.merged_at),
                "comments": len(self.pr_comments(pr.number)),
                "changed_files": len(pr.files), "additions": sum(f["additions"] for f in pr.files),
                "deletions": sum(f["deletions"] for f in pr.files), "draft": False,
                "merge_base": pr.merge_base or pr.base_sha,
                "created_at": "2026-11-01T00:00:00Z",
                "updated_at": pr.updated_at or f"2026-11-01T{pr.pushes // 3600:02d}:"
                              f"{pr.pushes // 60 % 60:02d}:{pr.pushes % 60:02d}Z"}

    def _page(self, items: list[Any], query: dict[str, list[str]]) -> tuple[int, Any, dict]:
        limit = min(int(query.get("limit", ["30"])[0]), MAX_LIMIT, self.page_cap)
        page = max(int(query.get("page", ["1"])[0]), 1)
        chunk = items[(page - 1) * limit: page * limit]
        headers = {"X-Total-Count": str(len(items))}
        if page * limit < len(items):
            headers["Link"] = f'<{self.url}/api/v1/next?page={page + 1}>; rel="next"'
        return 200, chunk, headers

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out as two writes: without TCP_NODELAY the client's delayed
            # ACK holds the second for 40 ms on every keep-alive request
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                check = spec_check()
                with fake.lock:
                    fake.log.append((self.command, self.path))
                    fake.violations += check.check_request(self.command, parts.path, query, body)
                    auth = self.headers.get("Authorization", "")
                    login = fake.tokens.get(auth.removeprefix("token ")) if auth.startswith(
                        "token ") else None
                    if login is None:
                        status, payload, headers = 401, {"message": "token is required",
                                                         "url": ""}, {}
                    else:
                        status, payload, headers = fake._route(
                            self.command, parts.path.removeprefix("/api/v1"), query, body, login)
                    is_json = not isinstance(payload, (str, bytes))
                    if status < 500:
                        fake.violations += check.check_response(self.command, parts.path,
                                                                status, payload, is_json)
                data = b"" if payload is None else payload if isinstance(payload, bytes) else (
                    payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
                self.send_response(status)
                self.send_header("Content-Type", headers.pop(
                    "Content-Type", "application/json;charset=utf-8"))
                for k, v in headers.items():
                    if k == "Link":  # rewrite to the real path with the next page
                        v = v.replace("/api/v1/next", parts.path)
                        q = {k2: v2[0] for k2, v2 in query.items() if k2 != "page"}
                        extra = "".join(f"&{k2}={v2}" for k2, v2 in q.items())
                        v = v.replace('>; rel', f'{extra}>; rel')
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

        return Handler
