"""What a review would cost before any model is called: per ballot, the prompt's estimated
tokens, the output allowance and the most it could cost (USD), and whether the verdict cache
already holds it. ``review --estimate`` prints it; :mod:`.budget` compares its sum with
``[budget]``. No network imports."""

from __future__ import annotations

from dataclasses import dataclass

from ..context.packing import ContextPack, estimate_tokens
from ..context.prompts import Prompter
from ..core.catalogue import ballot_cost
from ..core.config import Config, Profile
from .cache import VerdictCache, ballot_key, default_cache_dir

__all__ = ["Estimate", "estimate_rows", "open_cache"]


@dataclass
class Estimate:
    """What one ballot would cost: estimated prompt tokens, the output allowance (tokens),
    the most it could cost in USD, and whether the verdict cache already holds it."""

    seat: str
    hat: str
    tokens_in: int
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
            cost = ballot_cost(seat, tokens_in=tokens_in, tokens_out=seat.max_output_tokens or 0)
            rows.append(Estimate(seat=seat.name, hat=hat, tokens_in=0 if cached else tokens_in,
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
