"""Grammar-constrained sampling that checks the likely tokens first (the embedded model).

llama-cpp-python's chain applies a grammar to every candidate of the vocabulary before top-k
(``Llama._init_sampler``: custom, penalties, grammar, top-k, ...). Gemma 3 has 262,144 tokens,
so each generated token pays 262,144 grammar checks: decoding ran at about 14 tokens/s on two
cores against 43 tokens/s without the grammar. llama.cpp's own ``common_sampler_sample``
avoids this by checking the sampled token first and re-applying the grammar to the whole
vocabulary only when that token is rejected.

:class:`GrammarFirst` does the same from a llama-cpp-python logits processor: it asks the
grammar about the 40 most likely tokens, then the 4,096 most likely, and only then the whole
vocabulary; it samples among the accepted ones (top-p, min-p, temperature, seeded) and returns
logits in which only the chosen token is finite, so the chain's greedy step picks it. The
grammar state lives in one ``llama_sampler_init_grammar`` sampler per generation (llama.cpp
``include/llama.h``), advanced with ``llama_sampler_accept``.

The whole module needs the ``local`` extra (``numpy`` and ``llama_cpp``).
"""

from __future__ import annotations

import ctypes
import functools
import json
import time
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp.llama_grammar import LlamaGrammar

__all__ = ["GrammarFirst", "PastDeadline", "grammar_text"]

#: Candidates asked of the grammar before the whole vocabulary, most likely first.
TIERS = (40, 4096)
_TOKEN_DATA = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)
assert _TOKEN_DATA.itemsize == ctypes.sizeof(llama_cpp.llama_token_data)


class PastDeadline(Exception):
    """Raised from inside generation when the ballot's deadline has passed."""


@functools.lru_cache(maxsize=8)
def grammar_text(schema_json: str) -> str:
    """The GBNF grammar llama-cpp-python derives from a JSON schema (the same conversion its
    ``response_format={"type": "json_object", "schema": ...}`` uses), converted once."""
    return LlamaGrammar.from_json_schema(schema_json, verbose=False)._grammar


class GrammarFirst:
    """A logits processor ``(input_ids, logits) -> logits`` that samples one token the grammar
    accepts. Use with ``temperature=0`` in the call (the chain then only takes the argmax of
    what this returns); one instance per generation; after the call, raise :attr:`failure`
    if it is set; :meth:`close` frees the grammar.

    Args:
        model: the loaded ``llama_cpp.Llama``.
        schema: the JSON schema the answer must follow.
        seed: seeds the sampling (None: random); temperature: 0 takes the most likely
            accepted token; top_p, min_p: as llama.cpp's samplers of those names.
        deadline: a ``time.monotonic()`` value (seconds); past it the generation ends and
            :attr:`failure` is a :class:`PastDeadline`.
    """

    def __init__(self, model: Any, schema: dict[str, Any], *, seed: int | None,
                 temperature: float, deadline: float, top_p: float = 0.95,
                 min_p: float = 0.05):
        vocab = llama_cpp.llama_model_get_vocab(model.model)
        text = grammar_text(json.dumps(schema))
        self._grammar = llama_cpp.llama_sampler_init_grammar(vocab, text.encode(), b"root")
        if not self._grammar:
            raise ValueError("llama.cpp could not parse the grammar of the verdict schema")
        self._rng = np.random.default_rng(seed)
        self.temperature, self.top_p, self.min_p = temperature, top_p, min_p
        self.deadline = deadline
        self._out: np.ndarray | None = None
        self._chosen: int | None = None
        self._end = int(model.token_eos())
        #: why the generation was ended early (PastDeadline or another error), or None
        self.failure: Exception | None = None
        #: tokens generated, and how many needed the 4,096 tier / the whole vocabulary
        self.steps = self.wide = self.full = 0

    def _accepted(self, ids: np.ndarray, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ids, logits) of the candidates ``ids`` the grammar accepts in its current state."""
        data = np.empty(len(ids), _TOKEN_DATA)
        data["id"], data["logit"], data["p"] = ids, logits[ids], 0.0
        array = llama_cpp.llama_token_data_array(
            data=data.ctypes.data_as(llama_cpp.llama_token_data_p), size=len(ids), selected=-1,
            sorted=False)
        llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(array))
        ok = np.isfinite(data["logit"])
        return data["id"][ok], data["logit"][ok]

    def _candidates(self, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        for n, tier in enumerate(TIERS):
            if tier >= len(logits):
                break
            top = np.argpartition(logits, -tier)[-tier:].astype(np.intc)
            ids, values = self._accepted(top, logits)
            if len(ids):
                self.wide += n > 0
                return ids, values
        self.full += 1
        return self._accepted(np.arange(len(logits), dtype=np.intc), logits)

    def _pick(self, ids: np.ndarray, values: np.ndarray) -> int:
        order = np.argsort(values, kind="stable")[::-1][:TIERS[0]]
        ids, values = ids[order], values[order]
        if self.temperature <= 0 or len(ids) == 1:
            return int(ids[0])
        p = np.exp(values - values[0])
        p /= p.sum()
        keep = min(int(np.searchsorted(np.cumsum(p), self.top_p)) + 1,
                   int((p >= self.min_p * p[0]).sum()))
        ids, values = ids[:max(keep, 1)], values[:max(keep, 1)]
        p = np.exp((values - values[0]) / self.temperature)
        return int(self._rng.choice(ids, p=p / p.sum()))

    def __call__(self, input_ids: Any, logits: np.ndarray) -> np.ndarray:
        """Choose the next token; returns logits where only that token is finite.

        llama-cpp-python calls this from a C callback, where a raised exception is only
        printed, never propagated. So a failure (the deadline passed, or the grammar accepts
        no token, which a schema's grammar never does) is kept in :attr:`failure` and the end
        token is chosen, which ends the generation; the caller then raises :attr:`failure`.
        """
        try:
            if self.failure is not None:
                token = self._end
            elif time.monotonic() > self.deadline:
                self.failure = PastDeadline("the deadline passed mid-generation")
                token = self._end
            else:
                self.steps += 1
                ids, values = self._candidates(logits)
                if not len(ids):
                    raise ValueError("the grammar accepts no token")
                token = self._pick(ids, values)
                llama_cpp.llama_sampler_accept(self._grammar, token)
        except Exception as exc:  # noqa: BLE001 - kept for the caller, see above
            self.failure, token = exc, self._end
        if self._out is None or len(self._out) != len(logits):
            self._out = np.full(len(logits), -np.inf, dtype=np.single)
        elif self._chosen is not None:
            self._out[self._chosen] = -np.inf
        self._out[token], self._chosen = 0.0, token
        return self._out

    def close(self) -> None:
        """Free the grammar sampler (idempotent)."""
        if self._grammar:
            llama_cpp.llama_sampler_free(self._grammar)
            self._grammar = None
