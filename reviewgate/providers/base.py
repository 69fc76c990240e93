"""What every provider adapter implements, and the helpers they share.

A provider owns one seat's client and credentials and translates one chat request to and from its
wire API. It raises :class:`~reviewgate.core.errors.ProviderError` subclasses; it never retries (the
SDKs' own retries are switched off) because :mod:`reviewgate.ensemble.fanout` applies one retry
policy.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, AsyncContextManager, ClassVar, Literal, Protocol

from ..core.errors import MissingCredentials

if TYPE_CHECKING:  # the embedded model's worker imports this package without pydantic
    from ..core.config import SeatConfig

__all__ = ["Completion", "Finish", "Provider", "resolve_key"]

Finish = Literal["stop", "length", "refusal"]


@dataclass
class Completion:
    """One raw answer: text, why generation stopped, and usage in tokens.

    ``finish`` is ``length`` when the output was cut at the token limit (OpenAI
    ``finish_reason``, Anthropic ``stop_reason`` ``max_tokens``, Ollama ``done_reason``) and
    ``refusal`` when the model declined. ``tokens_in`` counts every prompt token;
    ``tokens_cached`` of them were cache reads and ``tokens_cache_write`` cache writes (Anthropic
    ``cache_read_input_tokens`` / ``cache_creation_input_tokens``; OpenAI
    ``usage.prompt_tokens_details.cached_tokens``), priced apart.
    """

    text: str
    finish: Finish = "stop"
    tokens_in: int = 0
    tokens_out: int = 0
    refusal: str = ""
    tokens_cached: int = 0
    tokens_cache_write: int = 0


class Provider(Protocol):
    """A seat's model endpoint.

    Class attributes declare what the adapter needs and does, instead of ``if provider == ...``
    branches elsewhere.
    """

    name: ClassVar[str]
    #: ``strict`` or ``full``: which form of the verdict schema the endpoint accepts.
    schema_dialect: ClassVar[str]

    async def complete(self, messages: list[dict[str, str]], *, schema: dict[str, Any],
                       timeout_s: float, hat: str = "") -> Completion:
        """Send one chat request; ``timeout_s`` is the time left for this call, in seconds, and
        ``hat`` names the ballot it belongs to (the replay provider answers per hat).

        Raises:
            ProviderHTTPError, ProviderTimeout, ProviderConnectionError, MissingCredentials.
        """
        ...

    def slot(self, hat: str = "") -> AsyncContextManager[None]:
        """Held while a ballot in ``hat`` runs: a no-op for remote APIs, a queue for an
        embedded model (which runs the ballots of one hat back to back: same prompt)."""
        ...

    async def aclose(self) -> None:
        """Release the client."""
        ...


class RemoteProvider:
    """Shared parts of the HTTP providers: no concurrency limit, nothing to close by default."""

    name: ClassVar[str] = ""

    def slot(self, hat: str = "") -> AsyncContextManager[None]:
        """Remote calls run concurrently: nothing to wait for."""
        return contextlib.nullcontext()

    async def aclose(self) -> None:
        """Close the SDK client if it has one."""
        client = getattr(self, "client", None)
        closer = getattr(client, "close", None) or getattr(client, "aclose", None)
        if closer is not None:
            result = closer()
            if hasattr(result, "__await__"):
                await result


def resolve_key(seat: SeatConfig, *, required: bool = True) -> str | None:
    """The seat's key from the env var it names.

    Raises:
        MissingCredentials: ``required`` and the variable is unset or empty; the message names
            the variable ("missing ANTHROPIC_API_KEY"), never a value.
    """
    env = seat.key_env
    if env is None:
        return None
    value = os.environ.get(env, "").strip()
    if not value:
        if required:
            raise MissingCredentials(f"missing {env}")
        return None
    return value

