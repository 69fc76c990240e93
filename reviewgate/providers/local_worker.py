"""The embedded model's side of the worker process (:mod:`reviewgate.providers.local`).

llama.cpp is native code: a fault in it (SIGSEGV, SIGILL from instructions the CPU or the
virtual machine does not grant, such as AMX tiles) cannot be caught in Python and would take
the whole gate down. So the model lives in a worker process started with ``spawn``; the gate
only sends requests and reads answers through a pipe, and a dead worker becomes ABSTAIN
ballots with the reason.

:func:`serve` is the worker's main loop; a *runner* (a ``module:function`` path, by default
:func:`llama_runner`) turns one request dict into one answer dict. Tests pass their own runner
(for example one that kills its own process with SIGSEGV). :func:`runtime_problem` checks, before
any model is loaded, that the installed llama.cpp does not use CPU features this process may
not use.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import sys
from typing import Any, Callable

__all__ = ["REINSTALL", "llama_runner", "load_model", "runtime_problem", "serve"]

#: The portable build flags of the README, and the command that replaces a cached native build.
CMAKE_ARGS = ("-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON "
              "-DGGML_BMI2=ON")
REINSTALL = (f'CMAKE_ARGS="{CMAKE_ARGS}" pip install --no-cache-dir --force-reinstall '
             "--no-deps llama-cpp-python")
#: Linux ``arch_prctl`` (x86-64 syscall 158): ask for the AMX tile data state
#: (``ARCH_REQ_XCOMP_PERM``, ``XFEATURE_XTILEDATA``; Linux Documentation/arch/x86/xstate.rst).
_SYS_ARCH_PRCTL = 158
_ARCH_REQ_XCOMP_PERM = 0x1023
_XFEATURE_XTILEDATA = 18


def _amx_permitted() -> bool:
    """True when this process may use the AMX tile data state (Linux x86-64 only)."""
    if sys.platform != "linux" or os.uname().machine not in ("x86_64", "AMD64"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(_SYS_ARCH_PRCTL, _ARCH_REQ_XCOMP_PERM, _XFEATURE_XTILEDATA) == 0


def runtime_problem(system_info: str | None = None) -> str | None:
    """Why the installed llama.cpp cannot run here, or None.

    ``system_info`` is ``llama_cpp.llama_print_system_info()`` (read from the installed
    library when None). A build with AMX code (``AMX_INT8 = 1``) on a machine whose kernel does
    not grant the AMX state to this process faults at the first matrix product.
    """
    if system_info is None:
        import llama_cpp

        system_info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    uses_amx = any(part.strip().startswith("AMX") and part.strip().endswith("= 1")
                   for part in system_info.split("|"))
    if uses_amx and not _amx_permitted():
        return ("the installed llama-cpp-python was built with AMX instructions (a native "
                "build, maybe taken from pip's wheel cache) and this machine does not grant "
                f"the AMX state, so it would crash: reinstall it with {REINSTALL}")
    return None


_loaded: dict[tuple[str, int], Any] = {}


def load_model(model: str, n_ctx: int) -> Any:
    """The ``llama_cpp.Llama`` for a seat's ``model`` and context size, loaded once per
    process (in the worker; tests load it in their own process).

    Raises:
        UserError: the extra is missing, the model file does not exist, or the installed
            llama.cpp cannot run here (:func:`runtime_problem`, with the reinstall command).
    """
    key = (str(model), int(n_ctx))
    if key not in _loaded:
        from ..core.errors import UserError

        try:
            import llama_cpp
        except ImportError:
            raise UserError("the local provider needs llama-cpp-python: "
                            "pip install 'reviewgate-ensemble[local]'") from None
        problem = runtime_problem()
        if problem:
            raise UserError(problem)
        from .local import model_path

        _loaded[key] = llama_cpp.Llama(model_path=str(model_path(key[0])), n_ctx=key[1],
                                       n_threads=os.cpu_count() or 2, flash_attn=True,
                                       verbose=False)
    return _loaded[key]


def llama_runner(request: dict[str, Any]) -> dict[str, Any]:
    """One chat completion on the embedded model, loaded once per worker.

    Request keys: ``model`` (the seat's model: the packaged Gemma or a .gguf path), ``n_ctx``,
    ``messages``, ``schema``, ``seed``, ``temperature``, ``max_tokens``, ``timeout_s``. Answer:
    ``text``, ``finish`` (stop, length), ``tokens_in``, ``tokens_out``, or ``error`` (kind:
    ``timeout``, ``rejected``, ``failed``, ``setup``) with ``message``.
    """
    import time

    from ..core.errors import UserError

    deadline = time.monotonic() + float(request["timeout_s"])
    try:
        llm = load_model(request["model"], request["n_ctx"])
    except UserError as exc:
        return {"error": "setup", "message": str(exc)}
    import llama_cpp

    from .grammar_sampler import GrammarFirst, PastDeadline

    sampler = GrammarFirst(llm, request["schema"], seed=request["seed"],
                           temperature=request["temperature"], deadline=deadline)
    try:
        # temperature 0: the chain takes the one token GrammarFirst leaves finite
        out = llm.create_chat_completion(
            messages=request["messages"], max_tokens=request["max_tokens"], temperature=0.0,
            seed=request["seed"], logits_processor=llama_cpp.LogitsProcessorList([sampler]))
    except ValueError as exc:  # e.g. the prompt does not fit n_ctx
        return {"error": "rejected", "message": str(exc)}
    finally:
        sampler.close()
    if isinstance(sampler.failure, PastDeadline) or time.monotonic() > deadline:
        return {"error": "timeout", "message": "local model passed its deadline"}
    if sampler.failure is not None:
        return {"error": "failed", "message": f"sampling failed: {sampler.failure}"}
    choice = out["choices"][0]
    usage = out.get("usage") or {}
    return {"text": choice["message"].get("content") or "",
            "finish": "length" if choice.get("finish_reason") == "length" else "stop",
            "tokens_in": usage.get("prompt_tokens", 0),
            "tokens_out": usage.get("completion_tokens", 0)}


def _runner(path: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def serve(conn: Any, runner: str) -> None:
    """The worker's loop: receive a request, answer it, until the pipe closes or ``None``.

    A Python exception in the runner is answered as ``error: failed``; a native crash ends the
    process, which the parent sees as the pipe closing and the exit code.
    """
    run = _runner(runner)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        try:
            answer = run(request)
        except Exception as exc:  # noqa: BLE001 - every failure is an answer, never a hang
            from ..core.errors import UserError

            kind = "setup" if isinstance(exc, UserError) else "failed"
            answer = {"error": kind, "message": f"{type(exc).__name__}: {exc}"}
        conn.send(answer)
