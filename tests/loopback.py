"""A scripted HTTP server on 127.0.0.1 that speaks whatever wire protocol a test scripts.

Each response is queued per (method, path) and served in order; every request is recorded with
its headers and JSON body, so tests assert the exact request shape the real SDKs send.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted response: status, JSON (or raw text) body, headers, delay in seconds."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    """One recorded request."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class Loopback:
    """The server. ``script(method, path, *replies)`` queues replies; ``seen`` lists requests."""

    def __init__(self) -> None:
        self.queues: dict[tuple[str, str], list[Reply]] = {}
        self.handlers: dict[tuple[str, str], Any] = {}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except json.JSONDecodeError:
                    body = raw.decode("utf-8", "replace")
                path = self.path.split("?", 1)[0]
                seen = Seen(self.command, self.path,
                            {k.lower(): v for k, v in self.headers.items()}, body)
                with outer.lock:
                    outer.seen.append(seen)
                    queue = outer.queues.get((self.command, path), [])
                    handler = outer.handlers.get((self.command, path))
                    if queue:
                        reply = queue.pop(0)
                    elif handler is not None:
                        reply = handler(seen)
                    else:
                        reply = Reply(404, {"error": f"no script for {self.command} {path}"})
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.body if isinstance(reply.body, (bytes, str)) else json.dumps(
                    reply.body)
                if isinstance(data, str):
                    data = data.encode()
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "application/json", **reply.headers}
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def script(self, method: str, path: str, *replies: Reply) -> None:
        """Queue ``replies`` for ``method path``."""
        with self.lock:
            self.queues.setdefault((method, path), []).extend(replies)

    def route(self, method: str, path: str, handler: Any) -> None:
        """Answer every ``method path`` request (after any queued replies) with
        ``handler(seen) -> Reply``."""
        with self.lock:
            self.handlers[(method, path)] = handler

    def requests_to(self, path: str) -> list[Seen]:
        """Recorded requests whose path (without query) is ``path``."""
        return [s for s in self.seen if s.path.split("?", 1)[0] == path]

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


def reachable(parents: dict[str, list[str]], sha: str) -> set[str]:
    """``sha`` and every commit reachable from it through ``parents`` (commit -> parents):
    the fake forges' commit graph."""
    seen: set[str] = set()
    todo = [sha]
    while todo:
        cur = todo.pop()
        if cur not in seen:
            seen.add(cur)
            todo.extend(parents.get(cur, []))
    return seen
