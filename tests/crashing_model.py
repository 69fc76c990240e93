"""Test doubles for the embedded model's worker process (runners of
:mod:`reviewgate.providers.local_worker`): each stands in for the runtime inside the worker and
answers a request (one prompt, a seed per ballot) with an answer per seed."""

from __future__ import annotations

import os
import signal
import time
from typing import Any


def segfault(request: dict[str, Any]) -> dict[str, Any]:
    """Die as a native fault would: a real SIGSEGV, raised in this thread (the worker answers
    each request from a thread of its own; ``os.kill`` may deliver the signal to another
    thread while this one still answers). Never answers."""
    signal.raise_signal(signal.SIGSEGV)
    while True:  # the process is going: no answer may overtake the crash
        time.sleep(1)


def answer_ok(request: dict[str, Any]) -> dict[str, Any]:
    """Answer an OK verdict, recording that it ran in a process other than the gate's (a
    warm-up request, which carries no seeds, gets no answers)."""
    import json

    verdict = {"vote": "OK", "confidence": 0.7, "summary": f"worker pid {os.getpid()}",
               "risks": [], "opportunities": [], "split": False, "suggested_split": [],
               "questions": []}
    answer = {"text": json.dumps(verdict), "finish": "stop", "tokens_in": 10, "tokens_out": 5}
    return {"answers": [answer] * len(request.get("seeds") or [])}


def recording(request: dict[str, Any]) -> dict[str, Any]:
    """:func:`answer_ok`, after appending the request's ``warm_up``, ``model``, ``n_ctx`` and
    ``seeds`` as a JSON line to the file named by ``RECORD_REQUESTS``."""
    import json

    with open(os.environ["RECORD_REQUESTS"], "a", encoding="utf-8") as out:
        out.write(json.dumps({key: request.get(key) for key in
                              ("warm_up", "model", "n_ctx", "seeds")}) + "\n")
    return answer_ok(request)


def slow_load(request: dict[str, Any]) -> dict[str, Any]:
    """A model load that takes a minute (the warm-up never ends within a test)."""
    time.sleep(60)
    return answer_ok(request)


def huge_answer(request: dict[str, Any]) -> dict[str, Any]:
    """Answer 16 MiB of text, as a runaway runner might: more than the pipe's cap."""
    answer = {"text": "x" * (16 * 1024 * 1024), "finish": "stop", "tokens_in": 10,
              "tokens_out": 5}
    return {"answers": [answer] * len(request["seeds"])}
