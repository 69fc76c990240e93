"""How the ballots of the embedded model share it: one hat at a time, its seats together.

The seats of one hat send the same prompt with different seeds. :class:`Turns` admits the
ballots of one hat at a time, up to ``width`` together (the server's parallel slots); the
other hat waits, so its prompt finds the first one's prefix in the KV cache. :class:`Gather`
collects the calls that carry the same request (same prompt, schema and settings) for a short
window, or until ``width`` have come, and sends them as one request: the runtime evaluates the
prompt once and decodes the seats together. Both live on one event loop and are pure asyncio
(no model, no process): :mod:`reviewgate.providers.local` uses them.
"""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Any, Awaitable, Callable, Hashable

__all__ = ["Gather", "Turns"]


class Turns:
    """Admits the ballots of one hat at a time, at most ``width`` at once. When the running
    ones are done, the waiting ballots of the hat that ran last go first (a re-ask keeps its
    hat's cache), else those of the longest-waiting hat, ``width`` of them together."""

    def __init__(self, width: int):
        self.width = width
        self.hat: str | None = None
        self.running = 0
        self.last: str | None = None
        self.waiters: list[tuple[str, asyncio.Future[None]]] = []

    def _enter(self, hat: str) -> None:
        self.hat = self.last = hat
        self.running += 1

    async def acquire(self, hat: str) -> None:
        """Wait for ``hat``'s turn (raises CancelledError if cancelled while waiting)."""
        if self.running == 0 and not self.waiters or (
                self.hat == hat and self.running < self.width):
            self._enter(hat)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (hat, waiter)
        self.waiters.append(entry)
        try:
            await waiter
        except asyncio.CancelledError:
            if entry in self.waiters:
                self.waiters.remove(entry)
            elif waiter.done() and not waiter.cancelled():
                self.release()  # admitted just as the ballot was cancelled
            raise

    def release(self) -> None:
        """One admitted ballot is done; admit the next ones."""
        self.running -= 1
        if self.running == 0:
            self.hat = None
        if self.hat is None and self.waiters:
            hats = [h for h, _ in self.waiters]
            self.hat = self.last if self.last in hats else hats[0]
        for entry in [w for w in self.waiters if w[0] == self.hat]:
            if self.running >= self.width:
                break
            self.waiters.remove(entry)
            self._enter(entry[0])
            entry[1].set_result(None)


class _Batch:
    def __init__(self, request: dict[str, Any], deadline: float):
        self.request = request
        self.deadline = deadline
        self.seeds: list[int | None] = []
        self.futures: list[asyncio.Future[dict[str, Any]]] = []
        self.timer: asyncio.TimerHandle | None = None


Sender = Callable[[dict[str, Any], list[int | None], float], Awaitable[list[dict[str, Any]]]]


class Gather:
    """Joins the calls that carry the same request into one request with a seed per call.

    ``width``: the most calls one request carries; ``window``: seconds the first call of a
    request waits for the others. ``send(request, seeds, timeout_s)`` answers one dict per
    seed; what it raises is raised by every call of the request.
    """

    def __init__(self, width: int, window: float):
        self.width, self.window = width, window
        self.open: dict[Hashable, _Batch] = {}

    async def submit(self, key: Hashable, request: dict[str, Any], seed: int | None,
                     timeout_s: float, send: Sender) -> dict[str, Any]:
        """This call's answer; ``timeout_s`` (seconds) is its time left: the request gets
        the shortest time left among its calls."""
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + timeout_s
        batch = self.open.get(key)
        if batch is None or seed is not None and seed in batch.seeds:
            if batch is not None:
                self._flush(key, send)
            batch = self.open[key] = _Batch(request, deadline)
            batch.timer = loop.call_later(self.window, self._flush, key, send)
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        batch.seeds.append(seed)
        batch.futures.append(future)
        batch.deadline = min(batch.deadline, deadline)
        if len(batch.seeds) >= self.width:
            self._flush(key, send)
        return await future

    def _flush(self, key: Hashable, send: Sender) -> None:
        batch = self.open.pop(key, None)
        if batch is None:
            return
        if batch.timer is not None:
            batch.timer.cancel()
        asyncio.ensure_future(self._send(batch, send))

    @staticmethod
    async def _send(batch: _Batch, send: Sender) -> None:
        try:
            answers = await send(batch.request, batch.seeds,
                                 max(batch.deadline - time.monotonic(), 0.001))
        except BaseException as exc:  # noqa: BLE001 - handed to every call of the request
            for future in batch.futures:
                if not future.done():
                    future.set_exception(copy.copy(exc))
            if not isinstance(exc, Exception):
                raise
            return
        missing = {"error": "failed", "message": "the runtime gave no answer for this seed"}
        for index, future in enumerate(batch.futures):
            if not future.done():
                future.set_result(answers[index] if index < len(answers) else missing)
