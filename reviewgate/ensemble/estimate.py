"""What a review would cost before any model is called: per ballot, the prompt's estimated
tokens, the output allowance and the most it could cost (USD), and whether the verdict cache
already holds it. ``review --estimate`` prints it; :mod:`.budget` compares its sum with
``[budget]``. No network imports."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..context.packing import ContextPack, estimate_tokens
from ..context.prompts import Prompter
from ..core.catalogue import lookup
from ..core.config import Config, Profile, SeatConfig
from .cache import VerdictCache, ballot_key, default_cache_dir

__all__ = ["MESSAGE_OVERHEAD_TOKENS", "Estimate", "ask_bound_usd", "estimate_rows",
           "open_cache", "prompt_bound"]

#: Tokens a chat template may add per message (role markers, separators): generous.
MESSAGE_OVERHEAD_TOKENS = 16


def prompt_bound(seat: SeatConfig, messages: list[dict[str, str]]) -> int:
    """The most prompt tokens ``messages`` can be billed for on ``seat``: one per UTF-8 byte
    (a byte-level BPE tokenizer, or a SentencePiece one with byte fallback, never makes more
    tokens than bytes, whatever characters the author chose), plus
    :data:`MESSAGE_OVERHEAD_TOKENS` per message. For a model of the built-in table, never more
    than its window there (the provider refuses a longer prompt rather than bill it); the
    seat's configured ``context_window`` is the gate's own packing limit, not the provider's,
    and bounds nothing. Text an author crafts to tokenize badly (emoji, hieroglyphs, random
    punctuation: up to 4 tokens per character against the 3.5 characters per token of
    :func:`reviewgate.context.packing.estimate_tokens`) cannot pass it."""
    total = sum(len(m["content"].encode("utf-8", "surrogatepass")) + MESSAGE_OVERHEAD_TOKENS
                for m in messages)
    found = lookup(seat.model)
    return min(total, found[1].context_window) if found else total


def ask_bound_usd(seat: SeatConfig, messages: list[dict[str, str]]) -> float:
    """The most one request of ``messages`` to ``seat`` can cost, USD: :func:`prompt_bound`
    at the dearer of the input and cache-write prices (a prompt cache write costs 1.25x the
    input price at Anthropic) plus the seat's whole output limit (0.0 for a seat that bills
    nothing). Rounded up to 1e-6."""
    per_mtok = max(seat.price_in_per_mtok or 0.0, seat.price_cache_write_per_mtok or 0.0)
    cost = (prompt_bound(seat, messages) * per_mtok
            + (seat.max_output_tokens or 0) * (seat.price_out_per_mtok or 0.0)) / 1_000_000
    return math.ceil(cost * 1_000_000) / 1_000_000


@dataclass
class Estimate:
    """What one ballot would cost: estimated prompt tokens (3.5 characters per token), the
    most prompt tokens it can be billed for (:func:`prompt_bound`), the output allowance
    (tokens), the most its first request could cost in USD
    (:func:`ask_bound_usd`), and whether the verdict cache already holds it."""

    seat: str
    hat: str
    tokens_in: int
    max_tokens_in: int
    max_tokens_out: int
    max_cost_usd: float
    cached: bool


def estimate_rows(profile: Profile, packs: dict[str, ContextPack], prompter: Prompter,
                   cache: VerdictCache | None, *, read: bool = True) -> list[Estimate]:
    """One :class:`Estimate` per ballot of ``profile`` over ``packs`` (``read=False``: the
    verdict cache is not consulted, every ballot is paid, as under ``--force``)."""
    rows = []
    for seat in profile.seats:
        pack = packs[seat.name]
        for hat in profile.hats:
            messages = prompter.review_messages(pack, hat,
                                                schema_in_prompt=seat.provider != "local")
            cached = read and cache is not None and cache.get(ballot_key(
                seat, hat, prompter.review_messages(pack, hat), prompter.nonce)) is not None
            tokens_in = sum(estimate_tokens(m["content"]) for m in messages)
            cost = ask_bound_usd(seat, messages)
            rows.append(Estimate(seat=seat.name, hat=hat, tokens_in=0 if cached else tokens_in,
                                 max_tokens_in=0 if cached else prompt_bound(seat, messages),
                                 max_tokens_out=0 if cached else seat.max_output_tokens,
                                 max_cost_usd=0.0 if cached else cost, cached=cached))
    return rows


def open_cache(config: Config) -> VerdictCache | None:
    """The verdict cache, or None when ``config.cache`` switches it off. It never raises: a
    store that fails is off with a line in its ``warnings`` (a review never fails for want of
    a cache)."""
    if not config.cache:
        return None
    return VerdictCache(config.cache_dir or default_cache_dir())
