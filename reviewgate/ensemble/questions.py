"""One structured-output question to a configured seat (grouping findings, judging a match).

The seat's own provider adapter, timeout and retry policy are used (the same tenacity policy as
the ballots: :mod:`reviewgate.ensemble.fanout`); the answer is validated with a pydantic model.
Usage is
kept even when the answer is invalid.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel
from ..core.config import SeatConfig
from ..core.errors import ProviderError, ProviderTimeout
from ..providers import Provider, make_provider
from ..core.catalogue import ballot_cost
from .fanout import complete_with_retries
from ..core.extraction import ExtractionError, extract_model
from ..core.verdict import model_schema

__all__ = ["Asked", "AskError", "ask_seat"]

T = TypeVar("T", bound=BaseModel)


class AskError(ProviderError):
    """The seat gave no valid answer (HTTP error, timeout, refusal, cut or invalid output);
    ``tokens_in``/``tokens_out`` keep the usage spent."""

    def __init__(self, message: str, *, tokens_in: int = 0, tokens_out: int = 0):
        super().__init__(message)
        self.tokens_in, self.tokens_out = tokens_in, tokens_out


@dataclass
class Asked(Generic[T]):
    """A validated answer with its raw text, usage in tokens, cost in USD, latency in seconds."""

    value: T
    raw: str
    tokens_in: int
    tokens_out: int
    cost_usd: float
    latency_s: float


async def ask_seat(seat: SeatConfig, messages: list[dict[str, str]], model: type[T], *,
                   what: str, provider: Provider | None = None) -> Asked[T]:
    """Ask ``seat`` one question whose answer must validate as ``model``.

    Args:
        seat: the configured seat (its provider, model, timeout in seconds, attempts).
        messages: the chat messages.
        model: the pydantic model of the answer; its schema is sent in the seat's dialect.
        what: a short name of the answer for error messages ("grouping", "judgement").
        provider: an already built adapter (tests); built from ``seat`` and closed when None.

    Raises:
        AskError: no valid answer within ``seat.timeout_s`` (the message says why: an HTTP
            error, a timeout, an answer cut, refused, over the bounds of
            :mod:`reviewgate.core.answer_bounds` or invalid; any other failure as
            ``internal error``).
    """
    own = provider is None
    try:
        provider = provider or make_provider(seat)
    except ProviderError as exc:
        raise AskError(str(exc)) from None
    schema = model_schema(model, getattr(provider, "schema_dialect", "full"))
    started = time.monotonic()
    deadline = started + seat.timeout_s
    usage = [0, 0]
    raw = ""
    try:
        async with asyncio.timeout(seat.timeout_s):
            completion = await complete_with_retries(provider, seat, messages, schema=schema,
                                                     deadline=deadline, hat=what)
            usage = [completion.tokens_in, completion.tokens_out]
            raw = completion.text
            if completion.finish != "stop":
                raise AskError(f"{what}: answer {completion.finish} "
                               f"({completion.refusal or 'cut at the token limit'})",
                               tokens_in=usage[0], tokens_out=usage[1])
            # in a worker thread, like the ballots' extraction: bounded, but up to seconds
            value = await asyncio.to_thread(extract_model, raw, model, what)
    except (TimeoutError, ProviderTimeout):
        raise AskError(f"{what}: timeout after {seat.timeout_s:g} s",
                       tokens_in=usage[0], tokens_out=usage[1]) from None
    except ExtractionError as exc:
        raise AskError(f"{what}: {exc}", tokens_in=usage[0],
                       tokens_out=usage[1]) from None
    except AskError:
        raise
    except ProviderError as exc:
        raise AskError(f"{what}: {exc}") from None
    except Exception as exc:  # one question never crashes the run: its caller falls back
        raise AskError(f"{what}: internal error: {type(exc).__name__}: {exc}",
                       tokens_in=usage[0], tokens_out=usage[1]) from None
    finally:
        if own:
            await provider.aclose()
    return Asked(value=value, raw=raw, tokens_in=usage[0], tokens_out=usage[1],
                 cost_usd=ballot_cost(seat, tokens_in=usage[0], tokens_out=usage[1]),
                 latency_s=round(time.monotonic() - started, 3))
