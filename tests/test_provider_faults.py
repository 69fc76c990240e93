"""Provider faults through the real SDKs: every one ends as a vote or an ABSTAIN with its reason,
within the seat's timeout, and one hanging seat never delays the decision past its timeout."""

from __future__ import annotations

import email.utils
import socket
import threading
import time

import pytest
from loopback import Reply
from test_providers_wire import SECRET, WIRES, make_seat, run_one

from reviewgate.core.changeset import ChangeSet, parse_unified_diff
from reviewgate.core.config import Config, Profile, SeatConfig
from reviewgate.ensemble.pipeline import review_change
from reviewgate.testing import verdict_json


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake keys for the hosted APIs (sent only to loopback)."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
def test_429_with_retry_after_as_http_date(loopback, wire):
    """retry-after given as an HTTP date (RFC 9110) is honoured like seconds."""
    _, path, body, _ = WIRES[wire]
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    loopback.script("POST", path, Reply(429, {"error": {"message": "busy"}},
                                        {"retry-after": when}),
                    Reply(200, body(verdict_json("OK"))))
    started = time.monotonic()
    ballot = run_one(make_seat(wire, loopback.url))
    assert ballot.vote == "OK" and ballot.attempts == 2
    assert time.monotonic() - started >= 0.9


@pytest.mark.parametrize("status", [500, 502, 503, 529])
@pytest.mark.parametrize("wire", list(WIRES))
def test_server_errors_are_retried(loopback, wire, status):
    """5xx and Anthropic's 529 "overloaded" are retried; the next good answer counts."""
    _, path, body, _ = WIRES[wire]
    loopback.script("POST", path, Reply(status, {"error": {"message": "oops"}},
                                        {"retry-after": "0"}),
                    Reply(200, body(verdict_json("NOT_OK"))))
    ballot = run_one(make_seat(wire, loopback.url))
    assert ballot.vote == "NOT_OK" and ballot.attempts == 2


class RawServer:
    """A TCP server on 127.0.0.1 that sends scripted bytes, for faults HTTP servers avoid."""

    def __init__(self, behaviour: str):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.behaviour = behaviour
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 5000\r\n\r\n")
            conn.sendall(head + b'{"id": "c1", "choices": [')
            if self.behaviour == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00"
                                b"\x00\x00")
                conn.close()
                return
            for _ in range(200):  # drip: one byte every 0.2 s, never finishing in time
                if self.stop.is_set():
                    break
                conn.sendall(b" ")
                time.sleep(0.2)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.mark.parametrize("wire", ["openai", "anthropic", "ollama"])
@pytest.mark.parametrize("behaviour", ["reset", "drip"])
def test_reset_mid_body_and_dripping_server(wire, behaviour):
    """A connection reset mid-body abstains with the error; a server dripping bytes past the
    timeout abstains at the seat's timeout (never later)."""
    server = RawServer(behaviour)
    try:
        started = time.monotonic()
        seat = make_seat(wire, server.url, timeout_s=2, max_attempts=2)
        ballot = run_one(seat)
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert ballot.vote == "ABSTAIN" and ballot.error
    assert elapsed < 3.5
    if behaviour == "drip":
        assert ballot.error == "timeout after 2 s"


@pytest.mark.parametrize("wire", ["openai", "anthropic", "ollama"])
def test_unknown_host_abstains(wire):
    """A base URL whose host does not resolve: ABSTAIN naming a connection problem."""
    ballot = run_one(make_seat(wire, "http://reviewgate-test.invalid", timeout_s=5,
                               max_attempts=1))
    assert ballot.vote == "ABSTAIN"
    assert "connect" in ballot.error.lower() or "resolve" in ballot.error.lower()


def test_connection_refused_abstains_quickly():
    """Nothing listens on the port: ABSTAIN after the attempts, well within the timeout."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    started = time.monotonic()
    ballot = run_one(make_seat("openai", f"http://127.0.0.1:{port}", timeout_s=10,
                               max_attempts=2))
    assert ballot.vote == "ABSTAIN" and time.monotonic() - started < 8


def test_one_hanging_seat_never_delays_the_decision(loopback):
    """Two seats answer at once, the third hangs: the run ends at the third seat's timeout."""
    def handler(seen):
        hang = seen.body["model"] == "slow"
        return Reply(200, {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
                           "choices": [{"index": 0, "finish_reason": "stop", "message": {
                               "role": "assistant", "content": verdict_json()}}],
                           "usage": {"prompt_tokens": 1, "completion_tokens": 1}},
                     delay=60 if hang else 0)
    loopback.route("POST", "/v1/chat/completions", handler)
    seats = [SeatConfig(name=n, provider="openai-compatible", model=m,
                        base_url=loopback.url + "/v1", timeout_s=t)
             for n, m, t in (("a", "fast", 10), ("b", "fast", 10), ("c", "slow", 2))]
    config = Config(profiles={"p": Profile(seats=seats)})
    diff = "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x\n+y\n"
    started = time.monotonic()
    record = review_change(ChangeSet(title="t", diff=diff, files=parse_unified_diff(diff)),
                           config=config, profile_name="p")
    assert time.monotonic() - started < 4
    assert record.decision.decision == "merge"
    assert {b.error for b in record.ballots if b.seat == "c"} == {"timeout after 2 s"}
