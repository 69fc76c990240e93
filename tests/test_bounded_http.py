"""The bounded read of provider responses (reviewgate.providers.bounded_http) on both HTTP
libraries the SDKs use: identity asked for, gzip inflated within the cap, other encodings
refused, a JSON body past the answer bounds refused before any SDK parses it; and through the
real SDKs, a hostile envelope is a named ABSTAIN, never an internal error."""

from __future__ import annotations

import asyncio
import gzip
import json

import httpx
import httpx2
import pytest
from loopback import Reply
from test_providers_wire import SECRET, WIRES, make_seat, run_one

from reviewgate.core.errors import ProviderError
from reviewgate.testing import verdict_json

LIBS = {"httpx": httpx, "httpx2": httpx2}


async def streamed(data: bytes):
    """``data`` as a network transport gives it: in 1 KB pieces, not read in advance."""
    for start in range(0, len(data), 1024):
        yield data[start:start + 1024]


def response(lib, data: bytes, **headers: str):
    """A response of ``lib`` whose body ``data`` is streamed (as from a socket)."""
    return lib.Response(200, headers={k.replace("_", "-"): v for k, v in headers.items()},
                        content=streamed(data))


def fetch(lib, reply, *, max_bytes: int | None = None):
    """GET through a bounded client of ``lib`` whose transport answers ``reply(request)``:
    the response (read) and the request as sent."""
    from reviewgate.providers import bounded_http

    seen = []

    def handler(request):
        seen.append(request)
        return reply(request)

    async def go():
        async with lib.AsyncClient(transport=lib.MockTransport(handler),
                                   **bounded_http.client_options(lib, max_bytes)) as client:
            return await client.get("http://model.test/answer")
    return asyncio.run(go()), seen


@pytest.mark.parametrize("name", LIBS)
def test_identity_is_asked_for_and_a_small_gzip_body_is_read(name):
    """The request asks for no compression; a server that gzips anyway is inflated once
    (here, within the cap) and the client sees the plain body."""
    lib = LIBS[name]
    body = json.dumps({"ok": True}).encode()
    got, [request] = fetch(lib, lambda r: response(
        lib, gzip.compress(body), Content_Encoding="gzip", Content_Type="application/json"))
    assert request.headers["accept-encoding"] == "identity"
    assert got.json() == {"ok": True}


@pytest.mark.parametrize("name", LIBS)
def test_bodies_past_the_cap_or_in_other_encodings_are_refused(name):
    """Over the cap (plain or once inflated): AnswerOverBounds; brotli: ProviderError."""
    from reviewgate.core.errors import AnswerOverBounds

    lib = LIBS[name]
    with pytest.raises(AnswerOverBounds, match="answer over 1,000 bytes"):
        fetch(lib, lambda r: response(lib, b"x" * 5001), max_bytes=1000)
    assert fetch(lib, lambda r: response(lib, b"x" * 1000), max_bytes=1000)[0].text == \
        "x" * 1000
    with pytest.raises(AnswerOverBounds, match="answer over 1,000 bytes"):
        fetch(lib, lambda r: response(lib, gzip.compress(b" " * 100_000),
                                      Content_Encoding="gzip"), max_bytes=1000)
    with pytest.raises(AnswerOverBounds, match="answer over 1,000 bytes"):  # read in advance
        fetch(lib, lambda r: lib.Response(200, content=b"x" * 1001), max_bytes=1000)
    with pytest.raises(ProviderError, match="content encoding 'br'"):
        fetch(lib, lambda r: response(lib, b"x", Content_Encoding="br"))


@pytest.mark.parametrize("name", LIBS)
def test_a_json_body_past_the_bounds_is_refused(name):
    """A JSON body nested past 32 levels or with a 4,400-digit number is refused while it is
    read; the same text served as plain text is left to its reader."""
    from reviewgate.core.errors import AnswerOverBounds

    lib = LIBS[name]
    for body, reason in (("\n" + "[" * 900 + "]" * 900, "nested deeper than 32 levels"),
                         ('{"n": ' + "1" * 4400 + "}", "number of 4,400 characters")):
        with pytest.raises(AnswerOverBounds, match=reason):
            fetch(lib, lambda r, body=body: response(lib, body.encode(),
                                                     Content_Type="application/json"))
        got, _ = fetch(lib, lambda r, body=body: response(lib, body.encode()))
        assert got.text == body


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake keys for the hosted APIs (sent only to loopback)."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)


@pytest.mark.parametrize("wire", WIRES)
def test_a_hostile_envelope_abstains_with_the_reason(loopback, wire):
    """A response whose JSON envelope (not the answer text) holds a 4,400-digit number:
    ABSTAIN naming the bound, one request (no retry, no re-ask), never "internal error"."""
    _, path, body, _ = WIRES[wire]
    good = json.dumps(body(verdict_json()))
    hostile = good[:-1] + ', "padding": ' + "1" * 4400 + "}"
    loopback.script("POST", path, Reply(200, hostile), Reply(200, hostile))
    ballot = run_one(make_seat(wire, loopback.url))
    assert ballot.vote == "ABSTAIN"
    assert ballot.error == ("answer has a number of 4,400 characters (limit 64) "
                            "(the response body)")
    assert len(loopback.requests_to(path)) == 1
