"""The embedded model's side of the worker process (:mod:`reviewgate.providers.local`).

The runtime is llama.cpp's own server, as the prebuilt wheels of ``xllamacpp`` (Cython
bindings; abi3 CPU wheels, no compiler). Native code can fault (SIGSEGV, or SIGILL on a CPU
without the instructions the wheel was built for) and a fault cannot be caught in Python, so
the server lives in a worker process started with ``spawn``; the gate only sends requests and
reads answers through a pipe, and a dead worker becomes ABSTAIN ballots with the reason.

:func:`serve` is the worker's loop. Each request names the seeds of the ballots it carries
(the seats of one hat: same prompt, same settings) and is answered from its own thread, so two
requests can be in the server at once. :func:`xllamacpp_runner` turns a request into one
streamed chat completion with ``n`` choices when the seeds are consecutive (llama.cpp gives
the k-th child the seed + k): the prompt is evaluated once and its KV cache copied to the
child slots, which then decode together. Other seeds run as separate completions in parallel
slots. The answer follows the verdict schema through an llguidance grammar (:mod:`reviewgate.
providers.llg_grammar`), and generation stops at the ballot's deadline (the stream is cancelled).
Tests pass their own runner (``module:function``), e.g. one that kills its process.

The server also listens on a loopback port (xllamacpp always starts it): it gets a random API
key, so no other process of the machine can use it; the slot and metrics endpoints are off.
:func:`runtime_problem` names, before anything native is loaded, a CPU the wheel cannot run on.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import platform
import secrets
import threading
import time
from typing import Any, Callable

__all__ = ["PARALLEL", "WARM_UP_GRAMMAR", "X86_FEATURES", "grammar", "load_server",
           "runtime_problem", "serve", "server_params", "warm_up", "xllamacpp_runner"]

#: Parallel slots of the server: the three seats of a hat decode together.
PARALLEL = 3
#: CPU features the Linux and Windows x86-64 wheels are built for (their
#: ``get_system_info()``: AVX = 1, AVX2 = 1, F16C = 1, FMA = 1, BMI2 = 1; no AVX-512, no AMX).
X86_FEATURES = ("avx", "avx2", "fma", "f16c", "bmi2")
#: Sampling of every ballot besides its seed and temperature (as llama.cpp's samplers of these
#: names): the 40 likeliest tokens, nucleus 0.95, at least 5% of the likeliest's probability.
#: Only these samplers run: the server's default chain adds penalties, DRY, top-n-sigma,
#: typical and XTC, each a no-op at its default (repeat penalty 1.0, DRY multiplier 0, typical
#: 1.0, XTC probability 0: ``common_params_sampling`` in llama.cpp's ``common/common.h``) that
#: still walks the candidates (7 to 14% of the decoding time in two runs; the same tokens).
SAMPLING = {"top_k": 40, "top_p": 0.95, "min_p": 0.05,
            "samplers": ["top_k", "top_p", "min_p", "temperature"]}
#: The grammar of a warm-up request (one token, ``{``): any llguidance grammar makes llama.cpp
#: build llguidance's tokenizer, which it keeps for the model's vocabulary (a static cache in
#: ``llama_sampler_llg_new_tokenizer``, llama.cpp's ``common/llguidance.cpp``): 2.0-2.2 s for
#: Gemma's 262,144 tokens, measured here, on the server's loop thread.
WARM_UP_GRAMMAR = '%llguidance {}\nstart: "{"'
#: The chat template of the packaged model, whose GGUF carries none (llama.cpp's built-in
#: ``gemma`` format: ``<start_of_turn>user ... <end_of_turn>``); a seat's own .gguf uses its own.
PACKAGED_TEMPLATE = "gemma"


def _cpu_flags() -> set[str] | None:
    """The CPU's feature flags (Linux ``/proc/cpuinfo``), or None where they cannot be read."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        return None
    return None


def runtime_problem(flags: set[str] | None = None, machine: str | None = None) -> str | None:
    """Why the prebuilt runtime cannot run on this CPU, or None (also None where the flags
    cannot be read: then a fault is still caught as a crash of the worker).

    ``flags`` are the CPU's feature flags (read from ``/proc/cpuinfo`` when None) and
    ``machine`` is ``platform.machine()``. Only x86-64 is checked: its wheel needs
    :data:`X86_FEATURES` and stops with SIGILL at the first matrix product without them.
    """
    machine = (machine or platform.machine()).lower()
    if machine not in ("x86_64", "amd64"):
        return None
    flags = _cpu_flags() if flags is None else flags
    if flags is None:
        return None
    missing = [name.upper() for name in X86_FEATURES if name not in flags]
    if not missing:
        return None
    return (f"this CPU lacks {', '.join(missing)}, which the prebuilt llama.cpp of the local "
            "extra (xllamacpp) needs on x86-64: it would stop with an illegal instruction. "
            "Review with hosted seats, or build xllamacpp from source for this CPU")


def grammar(schema: dict[str, Any]) -> str:
    """The llguidance grammar of ``schema`` (:func:`reviewgate.providers.llg_grammar.
    schema_grammar`: one optional space between tokens, every bound of the schema kept),
    converted once per schema for the worker's life (every hat sends the same one).

    Raises:
        ValueError: a schema shape the converter does not support.
    """
    return _grammar_of(json.dumps(schema))  # key order kept: properties come in order


@functools.lru_cache(maxsize=16)
def _grammar_of(schema_json: str) -> str:
    from .llg_grammar import schema_grammar

    return schema_grammar(json.loads(schema_json))


_servers: dict[tuple[str, int], Any] = {}
_load_lock = threading.Lock()


def server_params(model: str, n_ctx: int) -> Any:
    """The ``xllamacpp.CommonParams`` of the server for a seat's ``model`` and context size
    (tokens per slot): :data:`PARALLEL` slots, every core, logs for errors only, on loopback
    with a random API key (``api_keys[0]``), no slot or metrics endpoint.

    Raises:
        UserError: the extra is missing, the model file does not exist, or the CPU cannot run
            the runtime (:func:`runtime_problem`).
    """
    from ..core.errors import UserError
    from .local_model import DEFAULT_MODEL, model_path

    problem = runtime_problem()
    if problem:
        raise UserError(problem)
    path = model_path(model)
    try:
        import xllamacpp
    except ImportError:
        raise UserError("the local provider needs xllamacpp: "
                        "pip install --only-binary xllamacpp 'reviewgate-ensemble[local]'"
                        ) from None
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_parallel = PARALLEL
    params.n_ctx = n_ctx * PARALLEL  # split evenly: every slot holds a whole prompt
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = os.cpu_count() or 2
    params.warmup = False
    # no fitting to free device memory: it loads the model a first time to measure it (0.9 s
    # of 2.1 s here) and only sets what is left unset; on the CPU every size is set here
    params.fit_params = False
    params.verbosity = 0  # errors only: the gate's standard error is the user's
    params.hostnames, params.port = ["127.0.0.1"], 0
    params.api_keys = [secrets.token_urlsafe(32)]
    params.endpoint_slots = params.endpoint_metrics = params.ui = False
    if model == DEFAULT_MODEL:
        params.use_jinja, params.chat_template = False, PACKAGED_TEMPLATE
    return params


def load_server(model: str, n_ctx: int) -> Any:
    """The ``xllamacpp.Server`` for a seat's ``model`` and context size (tokens per slot),
    started once per process (:func:`server_params`).

    Raises:
        UserError: as :func:`server_params`.
    """
    key = (str(model), int(n_ctx))
    with _load_lock:
        if key not in _servers:
            params = server_params(*key)  # checks the CPU before anything native is loaded
            import xllamacpp

            _servers[key] = xllamacpp.Server(params)
        return _servers[key]


def warm_up(model: str, n_ctx: int) -> None:
    """Load the server for ``model`` and ``n_ctx`` (as :func:`load_server`) and build the
    grammar runtime with a one-token request (:data:`WARM_UP_GRAMMAR`), so that the first
    ballot's request finds both ready. Its answer is dropped.

    Raises:
        UserError: as :func:`server_params`.
    """
    server = load_server(model, n_ctx)
    server.handle_chat_completions({"messages": [{"role": "user", "content": "{"}],
                                    "max_tokens": 1, "grammar": WARM_UP_GRAMMAR})


def _runs(seeds: list[int | None]) -> list[list[int]]:
    """Indices of ``seeds`` grouped into runs one completion with ``n`` choices can serve:
    consecutive seeds (s, s+1, ...), or unseeded ballots together."""
    runs: list[list[int]] = []
    for index in sorted(range(len(seeds)), key=lambda i: (seeds[i] is None, seeds[i] or 0)):
        last = runs[-1][-1] if runs else None
        if last is not None and (seeds[index] is None and seeds[last] is None or (
                seeds[index] is not None and seeds[last] is not None
                and seeds[index] == seeds[last] + 1)):
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def _complete(server: Any, request: dict[str, Any], seed: int | None, n: int,
              deadline: float) -> list[dict[str, Any]]:
    """One streamed chat completion with ``n`` choices: an answer dict per choice."""
    body = {"messages": request["messages"], "max_tokens": request["max_tokens"],
            "temperature": request["temperature"], "grammar": grammar(request["schema"]),
            "n": n, "stream": True, "stream_options": {"include_usage": True}, **SAMPLING}
    if seed is not None:
        body["seed"] = seed
    texts: list[list[str]] = [[] for _ in range(n)]
    finish: list[str | None] = [None] * n
    usage: list[dict[str, Any]] = [{} for _ in range(n)]
    state: dict[str, Any] = {"last": None, "error": None, "late": False}

    def on_chunk(chunk: Any) -> bool:
        if time.monotonic() > deadline:
            state["late"] = True
            return True  # cancels the request: every choice stops decoding
        if not isinstance(chunk, dict):
            return False
        if "error" in chunk or ("message" in chunk and "choices" not in chunk):
            state["error"] = chunk.get("error", chunk)
            return True
        for choice in chunk.get("choices") or []:
            index = int(choice.get("index", 0))
            if 0 <= index < n:
                texts[index].append((choice.get("delta") or {}).get("content") or "")
                if choice.get("finish_reason"):
                    finish[index], state["last"] = choice["finish_reason"], index
        if chunk.get("usage") and state["last"] is not None:
            usage[state["last"]] = chunk["usage"]  # follows the final chunk of its choice
        return False

    server.handle_chat_completions(body, on_chunk)
    if state["late"] or time.monotonic() > deadline:
        return [{"error": "timeout", "message": "local model passed its deadline"}] * n
    if state["error"] is not None:
        error = state["error"]
        message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
        kind = "rejected" if isinstance(error, dict) and error.get("code") == 400 else "failed"
        return [{"error": kind, "message": message}] * n
    answers = []
    for index in range(n):
        used = usage[index] or next((u for u in usage if u), {})
        answers.append({"text": "".join(texts[index]),
                        "finish": "length" if finish[index] == "length" else "stop",
                        "tokens_in": used.get("prompt_tokens", 0),
                        "tokens_cached": (used.get("prompt_tokens_details") or {}).get(
                            "cached_tokens", 0) or 0,
                        "tokens_out": used.get("completion_tokens", 0) if usage[index] else 0})
    return answers


def xllamacpp_runner(request: dict[str, Any]) -> dict[str, Any]:
    """The ballots of one request on the embedded model.

    Request keys: ``model`` (the packaged Gemma or a .gguf path), ``n_ctx`` (tokens),
    ``messages``, ``schema``, ``seeds`` (one per ballot), ``temperature``, ``max_tokens``,
    ``timeout_s`` (seconds). Answer: ``answers``, one per seed, each ``text``, ``finish``
    (stop, length), ``tokens_in``, ``tokens_cached``, ``tokens_out``, or ``error`` (kind:
    ``timeout``, ``rejected``, ``failed``) with ``message``; or, for the whole request,
    ``error`` ``setup`` with ``message`` (the runtime cannot run here). A request with
    ``warm_up`` true carries only ``model`` and ``n_ctx``: :func:`warm_up`, answered with
    no answers.
    """
    from ..core.errors import UserError

    try:
        if request.get("warm_up"):
            warm_up(request["model"], request["n_ctx"])
            return {"answers": []}
        deadline = time.monotonic() + float(request["timeout_s"])
        server = load_server(request["model"], request["n_ctx"])
    except UserError as exc:
        return {"error": "setup", "message": str(exc)}
    seeds = list(request["seeds"])
    answers: list[dict[str, Any]] = [{}] * len(seeds)

    def run(indices: list[int]) -> None:
        try:
            got = _complete(server, request, seeds[indices[0]], len(indices), deadline)
        except Exception as exc:  # noqa: BLE001 - every failure is an answer, never a hang
            got = [{"error": "failed", "message": f"{type(exc).__name__}: {exc}"}] * len(
                indices)
        for index, answer in zip(indices, got, strict=True):
            answers[index] = answer

    threads = [threading.Thread(target=run, args=(indices,), daemon=True)
               for indices in _runs(seeds)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"answers": answers}


def _runner(path: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def serve(conn: Any, runner: str) -> None:
    """The worker's loop: receive requests (``id`` plus the runner's keys) until the pipe
    closes or ``None`` comes, answer each from a thread of its own with its ``id``.

    A Python exception in the runner is answered as ``error: failed`` (``setup`` for a
    :class:`~reviewgate.core.errors.UserError`); a native crash ends the process, which the
    parent sees as the pipe closing and the exit code.
    """
    run = _runner(runner)
    send_lock = threading.Lock()

    def answer(request: dict[str, Any]) -> None:
        try:
            reply = run(request)
        except Exception as exc:  # noqa: BLE001 - every failure is an answer, never a hang
            from ..core.errors import UserError

            kind = "setup" if isinstance(exc, UserError) else "failed"
            reply = {"error": kind, "message": f"{type(exc).__name__}: {exc}"}
        with send_lock:
            try:
                conn.send({**reply, "id": request.get("id")})
            except (OSError, ValueError):
                pass  # the gate has gone

    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        threading.Thread(target=answer, args=(request,), daemon=True).start()
