"""The one retry policy, for model providers and forges alike (DESIGN.md section 6).

Retried: HTTP 408, 409, 429, every 5xx and Anthropic's 529 "overloaded", connection errors and
timeouts; never 400/401/403/404/413/422 or a refusal, except GitHub's rate-limit refusal
(:func:`rate_limited`: a 403 that says when to come back). Between tries: the server's
``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date; RFC 9110 section 10.2.3), or
GitHub's ``x-ratelimit-reset`` when ``x-ratelimit-remaining`` is 0, capped at
:data:`MAX_RETRY_AFTER_S` (or the caller's cap), else exponential backoff with jitter. The
callers decide what counts as retryable for their own errors (:func:`policy`); an exception
offers the server's wait as a ``retry_after`` attribute (seconds). Imports: stdlib, and tenacity
when a retry runs (no network library).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:  # tenacity is imported where a retry runs: `reviewgate --version` stays fast
    from tenacity import RetryCallState

__all__ = ["MAX_RETRY_AFTER_S", "RETRY_STATUSES", "parse_retry_after", "policy",
           "rate_limited", "retryable_status", "wait"]

#: Statuses tried again: request timeout, conflict, rate limit, server errors, 529 overloaded.
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
#: Longest ``retry-after`` honoured, in seconds; longer waits are capped (timeouts still rule).
MAX_RETRY_AFTER_S = 60.0


@functools.lru_cache(maxsize=1)
def _backoff() -> Callable[[RetryCallState], float]:
    from tenacity import wait_exponential_jitter

    return wait_exponential_jitter(multiplier=0.5, max=10.0, jitter=0.5)


def retryable_status(status_code: int) -> bool:
    """True for a status the policy tries again (:data:`RETRY_STATUSES` or any 5xx)."""
    return status_code in RETRY_STATUSES or 500 <= status_code < 600


def rate_limited(status_code: int, headers: Mapping[str, str] | None) -> bool:
    """True for GitHub's rate-limit refusal: 403 or 429 with ``retry-after``, or with
    ``x-ratelimit-remaining: 0`` (then ``x-ratelimit-reset`` says when the limit resets).
    A 403 without them is a refusal and is never tried again.

    Source: GitHub REST API docs, "Troubleshooting the REST API", rate limit errors: "If the
    retry-after response header is present, you should not retry your request until after that
    many seconds has elapsed. If the x-ratelimit-remaining header is 0, you should not make
    another request until after the time specified by the x-ratelimit-reset header [...] in UTC
    epoch seconds."
    """
    if status_code not in (403, 429) or not headers:
        return False
    lower = {k.lower(): v for k, v in headers.items()}
    return "retry-after" in lower or (lower.get("x-ratelimit-remaining", "").strip() == "0"
                                      and "x-ratelimit-reset" in lower)


def _ratelimit_reset(lower: Mapping[str, str]) -> float | None:
    """Seconds until ``x-ratelimit-reset`` (UTC epoch seconds) when ``x-ratelimit-remaining``
    is 0; None otherwise or when unreadable."""
    if lower.get("x-ratelimit-remaining", "").strip() != "0":
        return None
    value = lower.get("x-ratelimit-reset", "").strip()
    if not value.isdigit() or len(value) > 12:
        return None
    now = dt.datetime.now(dt.timezone.utc).timestamp()
    return max(0.0, int(value) - now)


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date),
    else from GitHub's ``x-ratelimit-reset`` when ``x-ratelimit-remaining`` is 0 (see
    :func:`rate_limited`); None when absent or unreadable.

    Source: RFC 9110 section 10.2.3; ``retry-after-ms`` is the OpenAI/Anthropic extension.
    """
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        if "retry-after-ms" in lower:
            return max(0.0, float(lower["retry-after-ms"]) / 1000)
    except ValueError:
        pass
    value = lower.get("retry-after")
    if value is None:
        return _ratelimit_reset(lower)
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (parsed - dt.datetime.now(dt.timezone.utc)).total_seconds())


def wait(state: RetryCallState, max_wait_s: float = MAX_RETRY_AFTER_S) -> float:
    """Seconds before the next try: the failed try's ``retry_after`` (capped at
    ``max_wait_s``), else backoff."""
    exc = state.outcome.exception() if state.outcome else None
    after = getattr(exc, "retry_after", None)
    if isinstance(after, (int, float)):
        return min(float(after), max_wait_s)
    return _backoff()(state)


def policy(attempts: int, retryable: Callable[[BaseException], bool], *,
           max_wait_s: float = MAX_RETRY_AFTER_S) -> dict[str, Any]:
    """Keyword arguments for ``tenacity.Retrying`` / ``AsyncRetrying``: at most ``attempts``
    tries, :func:`wait` between them (a server's wait honoured up to ``max_wait_s`` seconds:
    a long job such as ``reviewgate dataset build`` waits out an hour's rate limit, the gate
    does not), retrying exceptions for which ``retryable`` is true, re-raising the last one."""
    from tenacity import retry_if_exception, stop_after_attempt

    def waited(state: RetryCallState) -> float:
        return wait(state, max_wait_s)

    return {"stop": stop_after_attempt(max(1, attempts)),
            "wait": wait if max_wait_s == MAX_RETRY_AFTER_S else waited,
            "retry": retry_if_exception(retryable), "reraise": True}
