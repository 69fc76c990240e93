"""A stateful fake of the GitHub REST API parts the gate uses, for GitHub's differences:
the diff media type, ``per_page`` paging with ``Link``, labels by name, ``state`` in status
rows, a ``GET /user`` that an Actions token may not call, and an issue-comments endpoint that
ignores ``sort``/``direction`` (oldest first, paged)."""

from __future__ import annotations

import datetime as dt

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fake_git import Trees, content_view, listed_blob, pull_views, with_index
from loopback import reachable


class FakeGitHub:
    """Repository ``owner/repo``; token ``gh-token`` is an Actions token (no ``/user``)."""

    def __init__(self, diff: str, head: str, files: list[dict[str, Any]]):
        self.diff, self.head, self.files = diff, head, files
        self.comments: list[dict[str, Any]] = []
        self.statuses: list[dict[str, Any]] = []
        self.labels: list[str] = []
        self.log: list[tuple[str, str, dict[str, str]]] = []
        self.problems: list[str] = []
        self._id = 0
        #: commit SHA -> path -> text, served by ``GET .../contents/{path}?ref=`` (raw media type)
        self.trees: dict[str, dict[str, str]] = {}
        #: commit SHA -> parent SHAs, for ``GET .../compare/{old}...{new}`` (unknown: 404)
        self.parents: dict[str, list[str]] = {}
        self.base = "b" * 40
        #: the pull request's ``updated_at`` (RFC 3339)
        self.updated_at = "2026-11-20T09:00:00Z"
        self.base_ref = "main"
        #: the merge base ``compare/{base}...{head}`` reports (``merge_base_commit``)
        self.merge_base = "b" * 40
        #: git trees of the head and the merge base (``GET .../git/trees/{sha}``), from the diff
        self.git = Trees()
        #: reviews: id, user, body, commit_id, state, comments (id, path, line, side, body)
        self.reviews: list[dict[str, Any]] = []
        #: the login the token acts as (``github-actions[bot]`` for an Actions token, an App's
        #: ``<slug>[bot]`` for an installation token); neither can read ``GET /user``
        self.actor = "github-actions[bot]"
        #: collaborator permissions (``GET .../collaborators/{user}/permission``)
        self.permissions: dict[str, str] = {"maintainer": "write", "owner": "admin",
                                            "stranger": "read"}
        #: status POSTs to fail with 500, in order
        self.fail_status_posts = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        """Base URL standing in for https://api.github.com."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/v3"

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def add_comment(self, login: str, body: str) -> dict[str, Any]:
        """A comment by ``login``."""
        self._id += 1
        c = {"id": self._id, "body": body, "user": {"login": login, "type": "User"},
             "created_at": f"2026-11-01T00:{self._id // 60:02d}:{self._id % 60:02d}Z",
             "html_url": f"https://github.com/owner/repo/pull/7#issuecomment-{self._id}"}
        self.comments.append(c)
        return c

    def _page(self, items, query, path):
        per_page = int(query.get("per_page", ["30"])[0])
        if per_page > 100:
            self.problems.append(f"per_page {per_page} > 100")
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {}
        if page * per_page < len(items):
            headers["Link"] = (f'<{self.url.rsplit("/api/v3", 1)[0]}{path}?per_page={per_page}'
                               f'&page={page + 1}>; rel="next"')
        return 200, chunk, headers

    def _reach(self, sha):
        return reachable(self.parents, sha)

    def _compare(self, old, new, headers):
        """REST "Compare two commits": ``status`` ahead/behind/identical/diverged; the diff
        media type gives ``git diff OLD NEW`` of the two trees."""
        if old == self.base and new == self.head and headers.get(
                "accept") != "application/vnd.github.diff" and (
                old not in self.parents or new not in self.parents):
            return 200, {"status": "ahead", "ahead_by": 1, "behind_by": 0, "files": [],
                         "merge_base_commit": {"sha": self.merge_base}}, {}
        if old not in self.parents or new not in self.parents:
            return 404, {"message": "Not Found"}, {}
        status = ("identical" if old == new else "ahead" if old in self._reach(new)
                  else "behind" if new in self._reach(old) else "diverged")
        if headers.get("accept") == "application/vnd.github.diff":
            import difflib
            a, b = self.trees.get(old, {}), self.trees.get(new, {})
            out = []
            for path in sorted(set(a) | set(b)):
                if a.get(path) != b.get(path):
                    out.append(f"diff --git a/{path} b/{path}\n")
                    out += [line + "\n" for line in difflib.unified_diff(
                        a.get(path, "").splitlines(), b.get(path, "").splitlines(),
                        f"a/{path}", f"b/{path}", lineterm="")]
            return 200, "".join(out), {"Content-Type": "text/plain"}
        bases = self._reach(old) & self._reach(new)
        base = max(bases, key=lambda sha: len(self._reach(sha))) if bases else old
        return 200, {"status": status, "ahead_by": 1, "behind_by": 0, "files": [],
                     "merge_base_commit": {"sha": base}}, {}

    def _pull_json(self):
        return {"number": 7, "title": "SSL", "body": None, "state": "open",
                "html_url": "https://github.com/owner/repo/pull/7", "updated_at": self.updated_at,
                "merged_at": None, "user": {"login": "alice"}, "head": {"sha": self.head},
                "base": {"sha": self.base, "ref": self.base_ref}}

    def route(self, method, path, query, body, headers):
        r = "/api/v3/repos/owner/repo"
        if not headers.get("authorization", "").startswith("Bearer "):
            return 401, {"message": "Requires authentication"}, {}
        if path == "/api/v3/user":
            return 403, {"message": "Resource not accessible by integration"}, {}
        if path == f"{r}/pulls/7" and method == "GET":
            if headers.get("accept") == "application/vnd.github.diff":
                if len(self.files) > 300:  # GitHub's cap on the diff media type
                    return 406, {"message": "Sorry, the diff exceeded the maximum number of "
                                 "files (300). Consider using 'List pull requests files' API "
                                 "or locally cloning the repository instead.", "errors": [
                                     {"resource": "PullRequest", "field": "diff",
                                      "code": "too_large"}], "status": "406"}, {}
                return 200, with_index(self.diff, self.trees.get(self.merge_base),
                                       self.trees.get(self.head)), {"Content-Type": "text/plain"}
            return 200, self._pull_json(), {}
        if path == f"{r}/pulls" and method == "GET":  # the one pull request, if in the state
            if query.get("sort") != ["updated"] or query.get("direction") != ["desc"]:
                self.problems.append(f"pull list without sort=updated&direction=desc: {query}")
            state = query.get("state", ["open"])[0]
            items = [self._pull_json()] if state in ("open", "all") else []
            return self._page(items, query, path)
        if path == f"{r}/pulls/7/files":
            return self._page([{"sha": listed_blob(f, "new"), **f} for f in self.files],
                              query, path)
        if method in ("POST", "PATCH") and len((body or {}).get("body") or "") > 65536:
            return 422, {"message": "Validation Failed", "errors": [{
                "resource": "IssueComment", "code": "custom", "field": "body",
                "message": "body is too long (maximum is 65536 characters)"}]}, {}
        if path == f"{r}/issues/7/comments":
            if method == "GET":
                return self._page(self.comments, query, path)  # ignores sort/direction
            return 201, self.add_comment(self.actor, body["body"]), {}
        m = re.fullmatch(rf"{r}/issues/comments/(\d+)", path)
        if m and method == "PATCH":
            c = next(c for c in self.comments if c["id"] == int(m.group(1)))
            if c["user"]["login"] != self.actor:
                return 403, {"message": "Resource not accessible by integration"}, {}
            c["body"] = body["body"]
            return 200, c, {}
        m = re.fullmatch(rf"{r}/statuses/([0-9a-f]{{40}})", path)
        if m and method == "POST":
            if self.fail_status_posts > 0:
                self.fail_status_posts -= 1
                return 500, {"message": "Server Error"}, {}
            if body["state"] not in ("error", "failure", "pending", "success"):
                return 422, {"message": "Validation Failed"}, {}
            self._id += 1
            row = {"id": self._id, "state": body["state"], "context": body["context"],
                   "description": body.get("description"), "target_url": body.get("target_url"),
                   "created_at": (dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
                                  + dt.timedelta(seconds=self._id % 60 - 60)).isoformat()
                   .replace("+00:00", "Z"), "sha": m.group(1),
                   "creator": {"login": self.actor, "id": 41898282}}
            self.statuses.append(row)
            return 201, row, {}
        m = re.fullmatch(rf"{r}/commits/([0-9a-f]{{40}})/statuses", path)
        if m:
            rows = [s for s in reversed(self.statuses) if s["sha"] == m.group(1)]
            return self._page(rows, query, path)
        if path == f"{r}/issues/7/labels":
            if method == "GET":
                return self._page([{"id": i, "name": n} for i, n in enumerate(self.labels)],
                                  query, path)
            if not all(isinstance(n, str) for n in body["labels"]):
                self.problems.append("labels must be names on GitHub")
            self.labels += [n for n in body["labels"] if n not in self.labels]
            return 200, [{"id": i, "name": n} for i, n in enumerate(self.labels)], {}
        m = re.fullmatch(rf"{r}/compare/([0-9a-f]+)\.\.\.([0-9a-f]+)", path)
        if m and method == "GET":
            return self._compare(m.group(1), m.group(2), headers)
        m = re.fullmatch(rf"{r}/git/trees/([0-9a-f]+)", path)
        if m and method == "GET":
            old, new = pull_views(self.diff if len(self.files) <= 300 else "", self.files,
                                  self.trees.get(self.merge_base), self.trees.get(self.head))
            views = {sha: content_view(files) for sha, files in self.trees.items()}
            views.update({self.merge_base: old, self.head: new})
            listing = self.git.listing(m.group(1), views, per_page=100_000)
            if listing is None:
                return 404, {"message": "Not Found"}, {}
            return 200, {k: v for k, v in listing.items()
                         if k in ("sha", "url", "tree", "truncated")}, {}
        m = re.fullmatch(rf"{r}/contents/(.+)", path)
        if m and method == "GET":
            if headers.get("accept") != "application/vnd.github.raw+json":
                self.problems.append("contents read without the raw media type")
            text = self.trees.get(query.get("ref", [""])[0], {}).get(m.group(1))
            if text is None:
                return 404, {"message": "Not Found"}, {}
            return 200, text, {"Content-Type": "application/vnd.github.raw+json"}
        if path == f"{r}/pulls/7/reviews":
            if method == "GET":
                return self._page([{k: v for k, v in x.items() if k != "comments"}
                                   for x in self.reviews], query, path)
            names = {f["filename"] for f in self.files}
            for c in body.get("comments") or []:
                if c.get("path") not in names or c.get("side") not in ("LEFT", "RIGHT") or \
                        not isinstance(c.get("line"), int) or "position" in c:
                    return 422, {"message": "Validation Failed", "comment": c}, {}
            if body.get("event") != "COMMENT":
                self.problems.append(f"review event {body.get('event')!r}")
            self._id += 1
            review = {"id": self._id, "user": {"login": self.actor},
                      "body": body.get("body", ""), "commit_id": body.get("commit_id"),
                      "state": "COMMENTED", "html_url": "https://github.com/owner/repo/pull/7",
                      "comments": []}
            for c in body.get("comments") or []:
                self._id += 1
                review["comments"].append({"id": self._id, **c})
            self.reviews.append(review)
            return 200, {k: v for k, v in review.items() if k != "comments"}, {}
        m = re.fullmatch(rf"{r}/pulls/7/reviews/(\d+)(/comments)?", path)
        if m:
            review = next((x for x in self.reviews if x["id"] == int(m.group(1))), None)
            if review is None:
                return 404, {"message": "Not Found"}, {}
            if m.group(2) and method == "GET":
                return self._page(review["comments"], query, path)
            if method == "PUT":
                review["body"] = body["body"]
                return 200, {k: v for k, v in review.items() if k != "comments"}, {}
            if method == "DELETE":
                return 422, {"message": "Can not delete a submitted review"}, {}
        m = re.fullmatch(rf"{r}/pulls/comments/(\d+)", path)
        if m and method == "DELETE":
            for review in self.reviews:
                for c in review["comments"]:
                    if c["id"] == int(m.group(1)):
                        review["comments"].remove(c)
                        return 204, None, {}
            return 404, {"message": "Not Found"}, {}
        m = re.fullmatch(rf"{r}/collaborators/([^/]+)/permission", path)
        if m and method == "GET":
            if m.group(1) not in self.permissions:
                return 404, {"message": "Not Found"}, {}
            return 200, {"permission": self.permissions[m.group(1)],
                         "user": {"login": m.group(1)}}, {}
        m = re.fullmatch(rf"{r}/issues/7/labels/(.+)", path)
        if m and method == "DELETE":
            from urllib.parse import unquote
            self.labels.remove(unquote(m.group(1)))
            return 200, [], {}
        return 404, {"message": "Not Found"}, {}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out as two writes: without TCP_NODELAY the client's delayed
            # ACK holds the second for 40 ms on every keep-alive request
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _serve(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                fake.log.append((self.command, self.path, headers))
                status, payload, extra = fake.route(self.command, parts.path,
                                                    parse_qs(parts.query), body, headers)
                data = payload.encode() if isinstance(payload, str) else json.dumps(
                    payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", extra.pop("Content-Type", "application/json"))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

        return Handler
