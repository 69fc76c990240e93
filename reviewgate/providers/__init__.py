"""Provider adapters, one module each, and the registry that maps a seat to its adapter.

Adding a provider is one new module plus one line in :data:`REGISTRY`; adapters never import
each other. Modules are imported lazily so that, say, the local extra is needed only when a local
seat runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Iterable

from .base import Completion, Provider

if TYPE_CHECKING:  # the embedded model's worker imports this package without pydantic
    from ..core.config import SeatConfig

__all__ = ["REGISTRY", "Completion", "Provider", "make_provider", "warm_up"]

#: provider name -> "module:Class" under reviewgate.providers
REGISTRY: dict[str, str] = {
    "anthropic": "anthropic:AnthropicProvider",
    "openai": "openai:OpenAIProvider",
    "openai-compatible": "openai:OpenAICompatibleProvider",
    "ollama": "ollama:OllamaProvider",
    "local": "local:LocalProvider",
}


def make_provider(seat: SeatConfig) -> Provider:
    """Build the adapter for ``seat`` (its own client and credentials).

    Raises:
        MissingCredentials: the seat's key variable is unset.
        ConfigError: the provider name is unknown (``replay`` is built by the review loop).
    """
    from ..core.errors import ConfigError

    target = REGISTRY.get(seat.provider)
    if target is None:
        raise ConfigError(f"seat {seat.name}: provider {seat.provider!r} cannot be called "
                          f"directly; known: {', '.join(sorted(REGISTRY))}")
    module, cls = target.split(":")
    return getattr(importlib.import_module(f".{module}", __name__), cls)(seat)


def warm_up(seats: Iterable[SeatConfig]) -> None:
    """Start, in the background, what the ``seats`` will need before their first call: the
    embedded model's worker loads its model (:func:`reviewgate.providers.local.warm_up`);
    hosted providers need nothing. Call it once the profile is known and a review will run,
    before the pull request is read. Never raises and never waits.
    """
    local = [seat for seat in seats if seat.provider == "local"]
    if local:
        from .local import warm_up as warm_local

        warm_local(local)
