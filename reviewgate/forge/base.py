"""What a forge adapter offers, and the HTTP plumbing adapters share.

Every call goes through :class:`ForgeHTTP`: one ``httpx.Client`` per run, an explicit timeout,
one tenacity retry policy (429, 5xx and connection errors; ``retry-after`` honoured) and errors
that carry the status and path but never the token. The client talks to the forge's own origin
only (scheme, host and port of its base URL): a next-page link or a redirect anywhere else is a
:class:`~reviewgate.core.errors.ForgeError` and nothing is sent there, so the token never
leaves the forge. Adapters (``forgejo.py``, ``github.py``) never import each other.
"""

from __future__ import annotations

import re
from urllib.parse import quote
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterator, Protocol

import httpx
from tenacity import Retrying

from ..core.changeset import decode_diff
from ..core.errors import ForgeError, redact, register_secret
from ..core.retry import parse_retry_after, policy, retryable_status

__all__ = ["ChangedFile", "Comment", "Comparison", "Forge", "ForgeHTTP", "LineComment",
           "PullRequest", "RestForge", "Review", "StatusRow", "TreeEntry", "commit_sha", "need",
           "next_link", "origin", "safe_message", "shown_url"]

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
    (None when it gives none), to find files its lists left out.
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
    """A pull request review: its id, author, body and the commit it was made on."""

    id: int
    author: str
    body: str
    commit_id: str = ""
    state: str = ""
    html_url: str = ""


class Forge(Protocol):
    """The forge operations the gate uses. All raise :class:`~reviewgate.core.errors.ForgeError`."""

    name: ClassVar[str]
    #: Commit status states this forge accepts.
    states: ClassVar[frozenset[str]]
    #: Most characters of one comment body.
    comment_limit: ClassVar[int]

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
    def tree(self, sha: str) -> list[TreeEntry]: ...
    def create_review(self, number: int, *, commit_id: str, body: str,
                      comments: list[LineComment]) -> Review: ...
    def retire_review(self, number: int, review: Review, note: str) -> None: ...
    def close(self) -> None: ...


#: What follows the ``>`` of a ``rel="next"`` link (RFC 8288 section 3, as GitHub and Forgejo
#: write it); matched only right after a ``>``.
_REL_NEXT = re.compile(r';\s*+rel="next"')


def next_link(header: str) -> str | None:
    """The URL of the ``rel="next"`` link of a ``Link`` header (``<URL>; rel="next"``), or None.

    The same link the pattern ``<([^>]+)>;\\s*rel="next"`` finds, by a scan that reads the
    header once: that pattern, searched from every ``<``, read the rest of a header of ``<``
    characters again from each one (quadratic in the header's length)."""
    previous = -1  # the ">" before the current one: a URL starts at the first "<" after it
    close = header.find(">")
    while close >= 0:
        start = header.find("<", previous + 1, close)
        if 0 <= start < close - 1 and _REL_NEXT.match(header, close + 1):
            return header[start + 1:close]
        previous, close = close, header.find(">", close + 1)
    return None


#: The port a scheme means when a URL names none.
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: Redirects followed per request (all within the forge's origin).
MAX_REDIRECTS = 5


def origin(url: httpx.URL | str) -> tuple[str, str, int | None]:
    """The origin of ``url`` (RFC 6454): (scheme, host, port), the scheme's default port
    filled in; scheme and host lower-cased (httpx normalises them).

    Raises:
        httpx.InvalidURL: ``url`` cannot be parsed.
    """
    url = httpx.URL(url)
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


def shown_url(url: httpx.URL | str) -> str:
    """``url`` as it may be shown: without userinfo (``user:password@``), known secrets
    redacted, at most 300 characters."""
    try:
        text = str(httpx.URL(url).copy_with(username=None, password=None))
    except (httpx.InvalidURL, TypeError, ValueError):
        text = str(url).rsplit("@", 1)[-1]
    return redact(text)[:300]


class _ForeignOrigin(Exception):
    """A request about to leave the forge's origin (raised by the client's request hook)."""


class _Retryable(Exception):
    """A forge failure the one retry policy (:mod:`reviewgate.core.retry`) may try again."""

    def __init__(self, error: ForgeError, retry_after: float | None):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


@dataclass
class ForgeHTTP:
    """An authenticated JSON client for one forge API.

    Args:
        base_url: the API root (``https://host/api/v1`` for Forgejo/Gitea).
        auth_header: the full ``Authorization`` value (``token <t>`` / ``Bearer <t>``); it is
            registered with :func:`~reviewgate.core.errors.redact` and never shown.
        timeout_s: per-request timeout in seconds.
        attempts: tries per request for retryable failures.

    Every request, each redirect hop included, goes to the origin of ``base_url`` only
    (:func:`origin`): a request hook refuses any other before it is sent. httpx on its own
    drops ``Authorization`` on a cross-origin redirect but keeps it on an ``http`` to
    ``https`` upgrade of the same host; the gate does not rely on either. At most
    :data:`MAX_REDIRECTS` redirects per request.
    """

    base_url: str
    auth_header: str | None
    timeout_s: float = 30.0
    attempts: int = 3
    extra_headers: dict[str, str] = field(default_factory=dict)
    transport: httpx.BaseTransport | None = None

    def __post_init__(self) -> None:
        if self.auth_header:
            register_secret(self.auth_header.split(" ", 1)[-1])
        headers = {"Accept": "application/json", "User-Agent": "reviewgate",
                   **self.extra_headers}
        if self.auth_header:
            headers["Authorization"] = self.auth_header
        self.origin = origin(self.base_url)
        self.client = httpx.Client(base_url=self.base_url.rstrip("/"), headers=headers,
                                   timeout=self.timeout_s, transport=self.transport,
                                   follow_redirects=True, max_redirects=MAX_REDIRECTS,
                                   event_hooks={"request": [self._own_origin_only]})

    def _shown_origin(self) -> str:
        scheme, host, port = self.origin
        return f"{scheme}://{host}:{port}"

    def _own_origin_only(self, request: httpx.Request) -> None:
        """httpx request hook, run before each request and each redirect hop is sent (the
        first request was checked by :meth:`_once`, so this one is a redirect)."""
        if origin(request.url) != self.origin:
            raise _ForeignOrigin(f"redirected to {shown_url(request.url)}, on another origin "
                                 f"than the forge's ({self._shown_origin()}): not followed (it "
                                 "would carry the token)")

    def _once(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = httpx.URL(path)
        if url.is_absolute_url and origin(url) != self.origin:
            raise ForgeError(f"{method} {shown_url(url)}: on another origin than the forge's "
                             f"({self._shown_origin()}): not sent (it would carry the token)",
                             method=method, path=shown_url(url))
        try:
            response = self.client.request(method, path, **kwargs)
        except _ForeignOrigin as exc:
            raise ForgeError(f"{method} {shown_url(path)}: {exc}", method=method,
                             path=shown_url(path)) from None
        except httpx.HTTPError as exc:
            error = ForgeError(f"{method} {path}: {type(exc).__name__}: {exc}", method=method,
                               path=path)
            raise _Retryable(error, None) from None
        if response.status_code >= 400:
            error = ForgeError(f"{method} {path}: HTTP {response.status_code}: "
                               f"{response.text[:300]}", status_code=response.status_code,
                               method=method, path=path)
            if retryable_status(response.status_code):
                raise _Retryable(error, parse_retry_after(response.headers))
            raise error
        return response

    def request(self, method: str, path: str, *, retry: bool = True,
                **kwargs: Any) -> httpx.Response:
        """Send one request with retries (``retry=False``: exactly once, for calls that are not
        idempotent, such as creating a comment).

        Raises:
            ForgeError: a non-retryable error status, or retries ran out (the last error).
        """
        retrying = Retrying(**policy(self.attempts if retry else 1,
                                     lambda e: isinstance(e, _Retryable)))
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(method, path, **kwargs)
        except _Retryable as exc:
            raise exc.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request (see :meth:`request`) and decode its JSON body."""
        response = self.request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ForgeError(f"{method} {path}: response is not JSON", method=method,
                             path=path) from None

    def pages(self, path: str, *, params: dict[str, Any] | None = None,
              size_param: str | None, size: int = 0) -> Iterator[Any]:
        """Every item of a paged list: follows ``Link: rel="next"``, else asks for the next
        ``page`` until a page comes back shorter than ``size``. ``size_param=None``: the
        endpoint takes no paging parameters (only a ``Link`` header is followed).

        A next link is resolved against the page's URL (RFC 8288: a relative link is relative
        to it) and followed only on the forge's origin.

        Raises:
            ForgeError: a page is not a JSON list; a next link is malformed or on another
                origin (the message names it without userinfo; nothing is sent there); or
                :meth:`request` failed.
        """
        params = dict(params or {})
        if size_param is not None:
            params.update({size_param: size, "page": 1})
        url: str | None = path
        while url is not None:
            response = self.request("GET", url, params=params)
            items = response.json()
            if not isinstance(items, list):
                raise ForgeError(f"GET {path}: expected a list", method="GET", path=path)
            yield from items
            link = next_link(response.headers.get("link", ""))
            if link:
                url, params = self._next_url(path, response.url, link), None
            elif size_param is not None and params is not None and len(items) >= size:
                params = {**params, "page": params["page"] + 1}
            else:
                url = None

    def _next_url(self, path: str, page: httpx.URL, link: str) -> str:
        """The absolute URL of ``link`` (resolved against ``page``) when it is on the forge's
        origin; else ForgeError."""
        try:
            url = page.join(link)
            same = origin(url) == self.origin
        except (httpx.InvalidURL, TypeError, ValueError):
            raise ForgeError(f"GET {path}: malformed next-page link {shown_url(link)!r}",
                             method="GET", path=path) from None
        if not same:
            raise ForgeError(f"GET {path}: the next-page link {shown_url(url)} is on another "
                             f"origin than the forge's ({self._shown_origin()}): not followed "
                             "(it would carry the token; a Forgejo or Gitea with a wrong "
                             "ROOT_URL writes such links)", method="GET", path=path)
        return str(url)

    def close(self) -> None:
        """Close the client."""
        self.client.close()


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

    def __init__(self, repo: str, http: ForgeHTTP, bot_login: str | None = None):
        self.repo = repo
        self.http = http
        self._login = bot_login

    @property
    def _r(self) -> str:
        return f"/repos/{quote(self.repo, safe='/')}"

    def _pages(self, path: str) -> Iterator[Any]:
        return self.http.pages(path, size_param=self.size_param, size=self.page_size)

    def get_pull(self, number: int) -> PullRequest:
        """The pull request; raises ForgeError (404) when it does not exist."""
        endpoint = f"GET {self._r}/pulls/{number}"
        data = self.http.json("GET", f"{self._r}/pulls/{number}")
        if not isinstance(data, dict):
            raise ForgeError(f"{endpoint}: response is not a JSON object")
        count = data.get("changed_files")
        return PullRequest(number=need(data, "number", endpoint), title=data.get("title") or "",
                           body=data.get("body") or "", head_sha=need(data, "head.sha", endpoint),
                           base_sha=(data.get("base") or {}).get("sha") or "",
                           html_url=data.get("html_url") or "",
                           author=(data.get("user") or {}).get("login", ""),
                           state=data.get("state") or "open",
                           merge_base=data.get("merge_base") or "",
                           updated_at=data.get("updated_at") or "",
                           changed_files=count if isinstance(count, int) else None,
                           base_ref=(data.get("base") or {}).get("ref") or "")

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
        return Review(id=need(data, "id", "review"), author=(data.get("user") or {}).get(
            "login", ""), body=data.get("body") or "", commit_id=data.get("commit_id") or "",
            state=data.get("state") or "", html_url=data.get("html_url") or "")

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
