"""An endless or oversized model response is read at most MAX_ANSWER_BYTES (4 MiB) by every
provider (the real SDKs against a raw loopback server; the embedded model's pipe): the ballot
abstains with "answer over 4,194,304 bytes" after one request (no retry, no re-ask), the server
can push only the cap plus the sockets' buffers before the client hangs up, and the memory the
ballot allocates stays bounded (tracemalloc's peak)."""

from __future__ import annotations

import gzip
import socket
import threading
import time
import tracemalloc

import anthropic  # noqa: F401 - imported before measuring: module objects are not the body
import ollama  # noqa: F401
import openai  # noqa: F401
import pytest
from test_providers_wire import SECRET, make_seat, run_one

import reviewgate.providers.local as local
from reviewgate.core.config import Profile, SeatConfig
from reviewgate.context.packing import ContextPack
from reviewgate.context.prompts import Prompter
from reviewgate.ensemble.fanout import run_review

CAP = 4 * 1024 * 1024  # reviewgate.core.answer_bounds.MAX_ANSWER_BYTES
REASON = f"answer over {CAP:,} bytes"
#: What the server sends at most (so the old, unbounded client is not run out of memory).
SERVER_LIMIT = 96 * 1024 * 1024
#: The cap plus what the kernel's socket buffers take in before the client hangs up.
MAX_SENT = CAP + 16 * 1024 * 1024
#: Peak of the memory one ballot allocates while it refuses the body.
MAX_PEAK = 4 * CAP
CHUNK = b'{"x": "' + b"a" * (64 * 1024 - 8) + b'"}'


def _gzip_bomb() -> bytes:
    """256 MiB of spaces, gzip-compressed to about 256 KB."""
    packer = gzip.GzipFile(fileobj=(out := __import__("io").BytesIO()), mode="wb")
    block = b" " * (1024 * 1024)
    for _ in range(256):
        packer.write(block)
    packer.close()
    return out.getvalue()


class EndlessServer:
    """A TCP server on 127.0.0.1 answering every request with ``200`` and a body that does not
    end: chunked JSON-looking bytes (``chunked``), a 10 GB ``Content-Length`` (``length``), or
    a chunked gzip bomb (``gzip``). It counts the requests and the bytes it managed to send."""

    def __init__(self, body: str):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.body = body
        self.requests = 0
        self.sent = 0
        self.stop = threading.Event()
        self.bomb = _gzip_bomb() if body == "gzip" else b""
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _chunks(self):
        if self.body == "gzip":
            for start in range(0, len(self.bomb), 16 * 1024):
                yield self.bomb[start:start + 16 * 1024]
        while True:
            yield CHUNK

    def _one(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            conn.recv(1 << 20)
            self.requests += 1
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            if self.body == "length":
                head += b"Content-Length: 10737418240\r\n\r\n"
            else:
                head += b"Transfer-Encoding: chunked\r\n"
                head += b"Content-Encoding: gzip\r\n\r\n" if self.body == "gzip" else b"\r\n"
            conn.sendall(head)
            for data in self._chunks():
                if self.stop.is_set() or self.sent >= SERVER_LIMIT:
                    break
                framed = data if self.body == "length" else (
                    b"%x\r\n" % len(data) + data + b"\r\n")
                conn.sendall(framed)
                self.sent += len(framed)
            while not self.stop.is_set():  # never end the body: the client must hang up
                time.sleep(0.05)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        """Stop serving."""
        self.stop.set()
        self.sock.close()


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake keys for the hosted APIs (sent only to loopback)."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)


def measured(seat: SeatConfig):
    """The ballot of ``seat`` and the peak memory (bytes) allocated while it ran."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        ballot = run_one(seat)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return ballot, peak


CASES = [(wire, "chunked") for wire in ("openai", "openai-compatible", "anthropic", "ollama")]
CASES += [(wire, body) for body in ("length", "gzip") for wire in ("openai", "ollama")]


@pytest.mark.parametrize("wire, body", CASES)
def test_an_endless_body_abstains_with_bounded_memory(wire, body):
    """The body never ends (or announces 10 GB, or inflates to 256 MiB): the read stops at the
    cap, the ballot abstains with the reason after one request, the server is cut off near the
    cap, and the ballot's memory peak stays under 4 x the cap."""
    server = EndlessServer(body)
    try:
        started = time.monotonic()
        ballot, peak = measured(make_seat(wire, server.url, timeout_s=20, max_attempts=3))
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert ballot.vote == "ABSTAIN" and ballot.error == REASON
    assert server.requests == 1 and ballot.attempts == 1 and ballot.answers == []
    assert server.sent < MAX_SENT, f"server sent {server.sent:,} bytes"
    assert peak < MAX_PEAK, f"peak {peak:,} bytes"
    assert elapsed < 15


@pytest.fixture
def huge_runner(monkeypatch):
    """The embedded model's worker answers 16 MiB (a fresh worker, stopped after the test)."""
    pytest.importorskip("xllamacpp")  # LocalProvider checks the extra is installed
    local._stop_workers()
    monkeypatch.setattr(local, "RUNNER", "crashing_model:huge_answer")
    yield
    local._stop_workers()


def test_an_oversized_answer_on_the_worker_pipe_abstains_unread(huge_runner):
    """A 16 MiB answer from the embedded model's worker is refused by its length, never read:
    ABSTAIN with the reason, the memory peak far under the answer's size."""
    seat = SeatConfig(name="g", provider="local", model="gemma3-270m-q4_k_m", seed=1,
                      timeout_s=60)
    pack = ContextPack(title="t", body="", files=[], diff="--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n")
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        [ballot] = __import__("asyncio").run(run_review(Profile(seats=[seat], hats=["tech"]),
                                                        pack, Prompter(nonce="n")))
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert ballot.vote == "ABSTAIN" and ballot.error == REASON and ballot.attempts == 1
    assert peak < CAP, f"peak {peak:,} bytes"
