"""GitHub's rate limits are waited out by the one retry policy: a 403 or 429 that says when to
come back (``retry-after``, or ``x-ratelimit-remaining: 0`` with ``x-ratelimit-reset``) is tried
again after that wait; any other 403 is a refusal, sent once."""

from __future__ import annotations

import time

import pytest
from loopback import Reply

from reviewgate.core.errors import ForgeError
from reviewgate.core.retry import parse_retry_after, rate_limited
from reviewgate.forge.http import ForgeHTTP

PATH = "/api/v3/repos/owner/repo/pulls/7"


def client(loopback, **kwargs) -> ForgeHTTP:
    return ForgeHTTP(f"{loopback.url}/api/v3", "Bearer gh-token", **kwargs)


def test_primary_rate_limit_waits_for_the_reset(loopback):
    """403 with x-ratelimit-remaining 0: the next try waits until x-ratelimit-reset (epoch
    seconds), says so through on_wait, and then succeeds."""
    reset = int(time.time()) + 2
    loopback.script("GET", PATH,
                    Reply(403, {"message": "API rate limit exceeded"},
                          {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}),
                    Reply(200, {"number": 7}))
    waits: list[tuple[float, str]] = []
    started = time.time()
    http = client(loopback, max_wait_s=30, on_wait=lambda s, why: waits.append((s, why)))
    assert http.json("GET", "/repos/owner/repo/pulls/7") == {"number": 7}
    assert time.time() >= reset - 0.01 and time.time() - started < 10
    assert len(waits) == 1 and 0.5 < waits[0][0] <= 2 and "HTTP 403" in waits[0][1]
    assert len(loopback.requests_to(PATH)) == 2


def test_secondary_rate_limit_honours_retry_after(loopback):
    """403 and 429 with retry-after (a secondary rate limit): tried again after it."""
    loopback.script("GET", PATH,
                    Reply(403, {"message": "You have exceeded a secondary rate limit"},
                          {"retry-after": "0"}),
                    Reply(429, {"message": "slow down"}, {"retry-after": "0"}),
                    Reply(200, {"number": 7}))
    assert client(loopback).json("GET", "/repos/owner/repo/pulls/7") == {"number": 7}
    assert len(loopback.requests_to(PATH)) == 3


def test_plain_403_is_not_retried(loopback):
    """A 403 that is no rate limit (no permission) is sent once and raised."""
    loopback.script("GET", PATH, Reply(403, {"message": "Resource not accessible"},
                                       {"x-ratelimit-remaining": "4999",
                                        "x-ratelimit-reset": str(int(time.time()) + 60)}))
    with pytest.raises(ForgeError) as caught:
        client(loopback).json("GET", "/repos/owner/repo/pulls/7")
    assert caught.value.status_code == 403 and len(loopback.requests_to(PATH)) == 1


def test_wait_is_capped_by_the_caller(loopback):
    """A reset an hour away is waited at most max_wait_s (the gate keeps the policy's cap)."""
    loopback.script("GET", PATH,
                    Reply(403, {}, {"x-ratelimit-remaining": "0",
                                    "x-ratelimit-reset": str(int(time.time()) + 3600)}),
                    Reply(200, {"number": 7}))
    waits: list[float] = []
    http = client(loopback, max_wait_s=0.05, on_wait=lambda s, why: waits.append(s))
    assert http.json("GET", "/repos/owner/repo/pulls/7") == {"number": 7}
    assert waits == [0.05]


def test_rate_limit_headers_are_read_as_documented():
    """retry-after wins; x-ratelimit-reset counts only with x-ratelimit-remaining 0; a reset in
    the past waits 0; unreadable values are ignored."""
    now = int(time.time())
    assert parse_retry_after({"Retry-After": "7", "X-RateLimit-Remaining": "0",
                              "X-RateLimit-Reset": str(now + 100)}) == 7.0
    assert 95 < parse_retry_after({"x-ratelimit-remaining": "0",
                                   "x-ratelimit-reset": str(now + 100)}) <= 100
    assert parse_retry_after({"x-ratelimit-remaining": "0",
                              "x-ratelimit-reset": str(now - 100)}) == 0.0
    assert parse_retry_after({"x-ratelimit-remaining": "3",
                              "x-ratelimit-reset": str(now + 100)}) is None
    assert parse_retry_after({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "soon"}) is None
    assert rate_limited(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1"})
    assert rate_limited(429, {"retry-after": "1"})
    assert not rate_limited(403, {"x-ratelimit-remaining": "1", "x-ratelimit-reset": "1"})
    assert not rate_limited(404, {"retry-after": "1"}) and not rate_limited(403, None)
