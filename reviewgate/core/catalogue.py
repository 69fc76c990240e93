"""The built-in table of known models: context window, output limit and prices.

Used for what a seat does not set itself (``context_window``, ``max_output_tokens``, the four
``price_*_per_mtok`` keys); ``reviewgate config check`` shows each value in effect and where it
came from. Figures were read on 2026-11-24 from the providers' pages:

- Anthropic: https://platform.claude.com/docs/en/about-claude/models/overview and
  https://platform.claude.com/docs/en/about-claude/pricing (cache read = 0.1 x input, 5-minute
  cache write = 1.25 x input);
- OpenAI: https://platform.openai.com/docs/pricing and each model's page (cached input is
  what ``usage.prompt_tokens_details.cached_tokens`` counts).

The Anthropic SDK lists ``claude-sonnet-4-5`` as reaching end-of-life on 2026-11-30
(``anthropic/_data/deprecated_models.py``); it stays in the table for existing configurations.

Units: tokens; USD per million tokens. Prices change: a seat's own ``price_*`` keys win.
Pure data and lookups; no network imports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

__all__ = ["DEFAULT_CONTEXT_WINDOW", "DEFAULT_MAX_OUTPUT", "DEFAULT_MAX_OUTPUT_REASONING",
           "KNOWN_MODELS", "ModelInfo", "Priced", "ballot_cost", "lookup"]

#: Context window assumed for a model the table does not know (tokens).
DEFAULT_CONTEXT_WINDOW = 32_768
#: Output allowance of a ballot when the seat sets none (tokens; capped at the model's limit).
DEFAULT_MAX_OUTPUT = 2_048
#: The same for a reasoning model: its hidden reasoning counts against the output limit
#: (OpenAI ``max_completion_tokens``; Anthropic ``max_tokens`` with adaptive thinking on by
#: default from Claude Sonnet/Opus 5), so 2,048 tokens could end before the answer starts.
DEFAULT_MAX_OUTPUT_REASONING = 16_000


@dataclass(frozen=True)
class ModelInfo:
    """One model: window and output limit in tokens, prices in USD per million tokens.

    ``price_cached`` is a cache read (Anthropic ``cache_read_input_tokens``, OpenAI
    ``cached_tokens``); ``price_cache_write`` an Anthropic 5-minute cache write
    (``cache_creation_input_tokens``; OpenAI writes its cache for free).
    """

    provider: str
    context_window: int
    max_output: int
    price_in: float
    price_out: float
    price_cached: float
    price_cache_write: float = 0.0
    reasoning: bool = False

    @property
    def default_output(self) -> int:
        """The output allowance (tokens) a seat gets when it sets none."""
        wanted = DEFAULT_MAX_OUTPUT_REASONING if self.reasoning else DEFAULT_MAX_OUTPUT
        return min(wanted, self.max_output)


def _anthropic(window: int, out: int, price_in: float, price_out: float, *,
               reasoning: bool = False) -> ModelInfo:
    return ModelInfo("anthropic", window, out, price_in, price_out,
                     round(price_in * 0.1, 4), round(price_in * 1.25, 4), reasoning)


def _openai(window: int, out: int, price_in: float, price_out: float,
            cached: float, *, reasoning: bool = False) -> ModelInfo:
    return ModelInfo("openai", window, out, price_in, price_out, cached, reasoning=reasoning)


#: Model id (without a date suffix) -> what the providers publish for it.
KNOWN_MODELS: dict[str, ModelInfo] = {
    "claude-opus-5-5": _anthropic(1_000_000, 128_000, 4.0, 20.0, reasoning=True),
    "claude-sonnet-5-5": _anthropic(1_000_000, 128_000, 2.0, 10.0, reasoning=True),
    "claude-opus-5": _anthropic(1_000_000, 128_000, 5.0, 25.0, reasoning=True),
    "claude-sonnet-5": _anthropic(1_000_000, 128_000, 2.0, 10.0, reasoning=True),
    "claude-opus-4-5": _anthropic(200_000, 64_000, 5.0, 25.0),
    "claude-sonnet-4-5": _anthropic(200_000, 64_000, 3.0, 15.0),
    "claude-haiku-4-5": _anthropic(200_000, 64_000, 1.0, 5.0),
    "claude-sonnet-4": _anthropic(200_000, 64_000, 3.0, 15.0),
    "gpt-5": _openai(400_000, 128_000, 1.25, 10.0, 0.125, reasoning=True),
    "gpt-5-mini": _openai(400_000, 128_000, 0.25, 2.0, 0.025, reasoning=True),
    "gpt-5-nano": _openai(400_000, 128_000, 0.05, 0.40, 0.005, reasoning=True),
    "gpt-4.1": _openai(1_047_576, 32_768, 2.0, 8.0, 0.50),
    "gpt-4.1-mini": _openai(1_047_576, 32_768, 0.40, 1.60, 0.10),
    "gpt-4o": _openai(128_000, 16_384, 2.50, 10.0, 1.25),
    "gpt-4o-mini": _openai(128_000, 16_384, 0.15, 0.60, 0.075),
    # the embedded model of the built-in ``local`` profile (Gemma 3 270M: 32K context)
    "gemma3-270m-q4_k_m": ModelInfo("local", 32_768, 8_192, 0.0, 0.0, 0.0),
}

_DATED = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|latest)$")


def lookup(model: str) -> tuple[str, ModelInfo] | None:
    """The table entry for ``model`` and the id it was found under, or None.

    A date or ``-latest`` suffix is ignored (``claude-sonnet-4-5-20250929``,
    ``gpt-5-2025-08-07``); so is a provider prefix (``openai/gpt-5``).
    """
    name = model.strip().lower().rsplit("/", 1)[-1]
    for candidate in (name, _DATED.sub("", name)):
        if candidate in KNOWN_MODELS:
            return candidate, KNOWN_MODELS[candidate]
    return None


class Priced(Protocol):
    """What :func:`ballot_cost` reads of a seat (a :class:`~reviewgate.core.config.SeatConfig`,
    which imports this table: the protocol keeps the two modules out of an import circle).
    Prices in USD per million tokens; None counts as 0."""

    price_in_per_mtok: float | None
    price_out_per_mtok: float | None
    price_cached_per_mtok: float | None
    price_cache_write_per_mtok: float | None


def ballot_cost(seat: Priced, *, tokens_in: int, tokens_out: int, tokens_cached: int = 0,
                tokens_cache_write: int = 0) -> float:
    """USD for one ballot's usage at the seat's prices (USD per million tokens).

    ``tokens_in`` counts every prompt token; ``tokens_cached`` of them are priced as cache
    reads and ``tokens_cache_write`` as cache writes, the rest at the input price (Anthropic
    and OpenAI price the three kinds apart; see :mod:`reviewgate.core.catalogue`). Rounded to 1e-6.
    """
    plain = max(0, tokens_in - tokens_cached - tokens_cache_write)
    cost = (plain * (seat.price_in_per_mtok or 0.0)
            + tokens_cached * (seat.price_cached_per_mtok or 0.0)
            + tokens_cache_write * (seat.price_cache_write_per_mtok or 0.0)
            + tokens_out * (seat.price_out_per_mtok or 0.0)) / 1_000_000
    return round(cost, 6)
