"""Exceptions raised by reviewgate.

Setup mistakes and runtime failures are separate families, so a caller can tell "fix your
configuration" from "a provider or forge misbehaved"::

    ReviewgateError
    ├── UserError                 bad input or configuration; the CLI exits with EXIT_USAGE
    │   ├── ConfigError           reviewgate.toml / [tool.reviewgate] failed validation
    │   └── InputError            unreadable diff, bad git range, bad decision.json
    ├── ProviderError             one model call failed (becomes an ABSTAIN ballot, never a crash)
    │   ├── ProviderHTTPError     the endpoint answered with an HTTP error status
    │   ├── ProviderTimeout       no answer within the seat's timeout
    │   ├── ProviderConnectionError  could not connect
    │   ├── AnswerOverBounds      the response passed a read bound (bytes, JSON depth, numbers)
    │   └── MissingCredentials    the seat's key env var is not set
    └── ForgeError                a forge API call failed (keeps status code, never the token)

Every message is built without secrets; :func:`redact` removes known secret values from any text
that is about to be shown.
"""

from __future__ import annotations

import os
import re

from .retry import retryable_status

__all__ = [
    "AnswerOverBounds",
    "ConfigError",
    "ForgeError",
    "InputError",
    "MissingCredentials",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderHTTPError",
    "ProviderTimeout",
    "ReviewgateError",
    "UserError",
    "keep_markup",
    "markup_skeleton",
    "redact",
    "redact_counted",
]


class ReviewgateError(Exception):
    """Base class of every error reviewgate raises on purpose."""


class UserError(ReviewgateError):
    """A mistake the user can fix: bad arguments, configuration or input."""


class ConfigError(UserError):
    """The configuration failed validation; the message names the bad key."""


class InputError(UserError):
    """The input (diff file, git range, decision.json) could not be read or parsed."""


class ProviderError(ReviewgateError):
    """One model call failed.

    Attributes:
        retryable: whether the shared retry policy may try the call again.
    """

    retryable: bool = False


class ProviderHTTPError(ProviderError):
    """The endpoint answered with an HTTP error.

    Attributes:
        status_code: the HTTP status (e.g. 429).
        retry_after: seconds the server asked us to wait (``retry-after-ms`` or ``retry-after``),
            or None.
        body: the response body, truncated to 2,000 characters and redacted.
    """

    def __init__(self, status_code: int, body: str = "", retry_after: float | None = None):
        self.status_code = status_code
        self.body = redact(body[:2000])
        self.retry_after = retry_after
        self.retryable = retryable_status(status_code)  # the one policy: core/retry.py
        detail = f": {self.body}" if self.body else ""
        super().__init__(f"HTTP {status_code}{detail}")


class ProviderTimeout(ProviderError):
    """No answer within the seat's timeout (seconds)."""

    retryable = True


class ProviderConnectionError(ProviderError):
    """The endpoint could not be reached."""

    retryable = True


class AnswerOverBounds(ProviderError):
    """The endpoint's response passed a bound of :mod:`reviewgate.core.answer_bounds` while it
    was read (``answer over 4,194,304 bytes``, or a response body nested or numbered past the
    bounds): the read stopped there. Never retried (the same call would send the same body)
    and never re-asked (no answer arrived)."""


class MissingCredentials(ProviderError):
    """The seat's credential env var is unset; the message names the variable, never a value."""


class ForgeError(ReviewgateError):
    """A forge API call failed.

    Attributes:
        status_code: HTTP status, or None when no response arrived.
        method, path: the request that failed (path without query or host credentials).
    """

    def __init__(self, message: str, *, status_code: int | None = None, method: str = "",
                 path: str = ""):
        self.status_code = status_code
        self.method = method
        self.path = path
        super().__init__(redact(message))


_SECRET_ENV_HINT = re.compile(r"(TOKEN|KEY|SECRET|PASSWORD)", re.IGNORECASE)
_extra_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret value (a token read from a file, say) so :func:`redact` hides it."""
    if value and len(value) >= 6:
        _extra_secrets.add(value)


#: Characters that make Markdown's inline structure (code spans, links, images, raw HTML,
#: entities, escapes, table cells) and its lines. A redaction keeps them (:func:`keep_markup`).
MARKUP_CHARS = frozenset("`<>[]()!&\\|\n\r")
_NOT_MARKUP = re.compile(r"[^`<>\[\]()!&\\|\n\r]+")


def keep_markup(secret: str, marker: str) -> str:
    """What replaces ``secret``: ``marker`` for every run of characters outside
    :data:`MARKUP_CHARS`, those characters kept in place and in order. Redaction runs on
    rendered Markdown too (the text a forge will show), where a secret-looking span can hold a
    code span's backtick or a tag's ``<``: replacing it whole would re-pair the code spans of the
    line and show the raw text of the next one as live HTML or links. Keeping them keeps every
    code span, link bracket, tag, entity and escape as the renderer wrote it; a marker is never
    empty, so no two kept characters become neighbours that were not.

    >>> keep_markup("ab`cd", "***")
    '***`***'
    """
    if not any(ch in MARKUP_CHARS for ch in secret):
        return marker
    out: list[str] = []
    run = False
    for ch in secret:
        if ch in MARKUP_CHARS:
            out.append(ch)
            run = False
        elif not run:
            out.append(marker)
            run = True
    return "".join(out)


def markup_skeleton(text: str) -> str:
    """The characters of ``text`` in :data:`MARKUP_CHARS`, in order: what a redaction must
    leave unchanged."""
    return _NOT_MARKUP.sub("", text)


def redact(text: str) -> str:
    """Replace every known secret value in ``text`` with ``***``.

    Known secrets are the values of environment variables whose name contains TOKEN, KEY, SECRET
    or PASSWORD (at least 6 characters long) and values passed to :func:`register_secret`.
    """
    return redact_counted(text)[0]


def redact_counted(text: str) -> tuple[str, int]:
    """:func:`redact`, and how many secret values were replaced."""
    if not text:
        return text, 0
    secrets = set(_extra_secrets)
    for name, value in os.environ.items():
        if _SECRET_ENV_HINT.search(name) and value and len(value) >= 6:
            secrets.add(value)
    count = 0
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            count += text.count(secret)
            text = text.replace(secret, keep_markup(secret, "***"))
    return text, count
