"""The HTTP client of the forge adapters.

Every call goes through :class:`ForgeHTTP`: one ``httpx.Client`` per run, an explicit timeout,
one tenacity retry policy (429, 5xx and connection errors, GitHub's rate-limit 403;
``retry-after`` and ``x-ratelimit-reset`` honoured: :mod:`reviewgate.core.retry`) and errors
that carry the status and path but never the token. The client talks to the forge's own origin
only (scheme, host and port of its base URL): a next-page link or a redirect anywhere else is a
:class:`~reviewgate.core.errors.ForgeError` and nothing is sent there, so the token never
leaves the forge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import httpx
from tenacity import Retrying

from ..core.errors import ForgeError, redact, register_secret
from ..core.retry import MAX_RETRY_AFTER_S, parse_retry_after, policy, rate_limited
from ..core.retry import retryable_status
from .base import safe_message

__all__ = ["MAX_REDIRECTS", "ForgeHTTP", "next_link", "origin", "shown_url"]

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
        max_wait_s: the longest wait a server may ask for between two tries, in seconds
            (``retry-after``, ``x-ratelimit-reset``); the gate keeps the policy's default, a
            long read such as ``reviewgate dataset build`` raises it to wait out a rate limit.
        on_wait: called with (seconds, reason) before each wait between tries (progress).

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
    max_wait_s: float = MAX_RETRY_AFTER_S
    on_wait: Callable[[float, str], None] | None = None
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
            if retryable_status(response.status_code) or rate_limited(response.status_code,
                                                                       response.headers):
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
                                     lambda e: isinstance(e, _Retryable),
                                     max_wait_s=self.max_wait_s),
                            before_sleep=self._before_sleep)
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(method, path, **kwargs)
        except _Retryable as exc:
            raise exc.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _before_sleep(self, state: Any) -> None:
        """Tell :attr:`on_wait` how long the policy waits before the next try, and why."""
        if self.on_wait is None or state.next_action is None:
            return
        exc = state.outcome.exception() if state.outcome else None
        why = safe_message(exc.error) if isinstance(exc, _Retryable) else "retrying"
        self.on_wait(float(state.next_action.sleep), why)

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
