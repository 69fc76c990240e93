"""One seat's configuration (a model endpoint): provider, model, key variable, limits and
prices, bounded where declared; the strict base every configuration model shares. Imports:
stdlib, pydantic and the model table only (:mod:`reviewgate.core.config` re-exports it)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from .catalogue import DEFAULT_CONTEXT_WINDOW, DEFAULT_MAX_OUTPUT, lookup

__all__ = ["DEFAULT_ENDPOINT", "DEFAULT_KEY_ENV", "ProviderName", "SeatConfig", "Strict"]

ProviderName = Literal["anthropic", "openai", "openai-compatible", "ollama", "local", "replay"]

#: The env var a seat reads its key from when ``api_key_env`` is not set; None: no key needed.
DEFAULT_KEY_ENV: dict[str, str | None] = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "openai-compatible": None,
    "ollama": None,
    "local": None,
    "replay": None,
}


#: Where a provider's requests go when a seat sets no ``base_url`` (the SDKs' defaults).
DEFAULT_ENDPOINT: dict[str, str] = {
    "anthropic": "https://api.anthropic.com",
    "openai": "https://api.openai.com/v1",
    "openai-compatible": "(base_url not set)",
    "ollama": "http://127.0.0.1:11434",
}


class Strict(BaseModel):
    """Unknown keys are errors; ``inf`` and ``nan`` are refused for every float."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


#: Bounds of a seat's numbers (reasons in :class:`SeatConfig`).
MIN_TIMEOUT_S, MAX_TIMEOUT_S = 1.0, 3600.0
MAX_OUTPUT_TOKENS = 1_000_000
MAX_CONTEXT_WINDOW = 10_000_000
MAX_PRICE_PER_MTOK = 1_000.0
MAX_SEED = 2**32 - 1


class SeatConfig(Strict):
    """One model endpoint.

    ``api_key_env`` names the env var holding the key (never the key itself). ``seed`` is sent
    where the provider supports it (the local profile uses three seeds for three seats).
    ``structured_output`` picks how the schema is requested from an OpenAI-compatible server:
    ``json_schema`` (OpenAI, vLLM), ``json_object`` (llama.cpp's Python server), ``none``.

    ``context_window``, ``max_output_tokens`` (tokens) and the ``price_*_per_mtok`` keys (USD
    per million tokens: input, output, cache read, cache write) left unset come from the
    built-in model table (:mod:`reviewgate.core.catalogue`), else from defaults (32,768-token
    window,
    2,048 output tokens, price 0); :meth:`origin` says which. From the table, the output
    allowance is 2,048 tokens (16,000 for reasoning models), capped at the model's limit.

    Bounds (a value outside is a configuration error, never a review that cannot work):
    ``timeout_s`` 1 to 3,600 s (it bounds a whole ballot, re-ask included: under a second no
    model call finishes, so ``1e-300`` is a typo; over an hour a ballot outlives any CI job);
    ``max_output_tokens`` 1 to 1,000,000 (8x the largest output limit of the table, 128,000);
    ``context_window`` 513 to 10,000,000 tokens (the largest window any model announces; more is
    a typo that packing would fill and Ollama would try to allocate); ``price_*_per_mtok`` 0 to
    1,000 USD (the dearest published price is 600, for output); ``seed`` 0 to 2**32 - 1
    (llama.cpp takes an unsigned 32-bit seed); no ``inf`` or ``nan`` anywhere.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    provider: ProviderName
    model: str
    base_url: str | None = None
    api_key_env: str | None = None
    timeout_s: float = Field(default=120.0, ge=MIN_TIMEOUT_S, le=MAX_TIMEOUT_S)
    max_output_tokens: int | None = Field(default=None, ge=1, le=MAX_OUTPUT_TOKENS)
    temperature: float = Field(default=0.2, ge=0, le=2)
    context_window: int | None = Field(default=None, gt=512, le=MAX_CONTEXT_WINDOW)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    structured_output: Literal["json_schema", "json_object", "none"] = "json_schema"
    max_attempts: int = Field(default=3, ge=1, le=10)
    price_in_per_mtok: float | None = Field(default=None, ge=0, le=MAX_PRICE_PER_MTOK)
    price_out_per_mtok: float | None = Field(default=None, ge=0, le=MAX_PRICE_PER_MTOK)
    price_cached_per_mtok: float | None = Field(default=None, ge=0, le=MAX_PRICE_PER_MTOK)
    price_cache_write_per_mtok: float | None = Field(default=None, ge=0,
                                                     le=MAX_PRICE_PER_MTOK)
    _origins: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _fill_from_table(self) -> SeatConfig:
        found = lookup(self.model)
        info = found[1] if found else None
        table = f"built-in table ({found[0]})" if found else ""
        wanted = {
            "context_window": (info.context_window if info else DEFAULT_CONTEXT_WINDOW),
            "max_output_tokens": info.default_output if info else DEFAULT_MAX_OUTPUT,
            "price_in_per_mtok": info.price_in if info else 0.0,
            "price_out_per_mtok": info.price_out if info else 0.0,
            "price_cached_per_mtok": info.price_cached if info else None,
            "price_cache_write_per_mtok": info.price_cache_write if info else None,
        }
        for key, value in wanted.items():
            if getattr(self, key) is not None:
                self._origins.setdefault(key, "seat")
                continue
            if key.startswith("price_cache"):  # unknown model: cached tokens at the input price
                value = self.price_in_per_mtok if value is None else value
            object.__setattr__(self, key, value)
            self._origins[key] = table or "default"
        return self

    def origin(self, key: str) -> str:
        """Where the value of ``key`` came from: ``seat``, ``built-in table (<id>)`` or
        ``default``."""
        return self._origins.get(key, "seat")

    @property
    def cloud(self) -> bool:
        """True for an Ollama Cloud seat (a ``:cloud`` model or an ``ollama.com`` base URL)."""
        return self.provider == "ollama" and (self.model.endswith(":cloud")
                                              or "ollama.com" in (self.base_url or ""))

    @property
    def key_env(self) -> str | None:
        """The env var this seat reads its key from, or None when it needs none (Ollama Cloud
        needs ``OLLAMA_API_KEY``)."""
        if self.api_key_env:
            return self.api_key_env
        if self.cloud:
            return "OLLAMA_API_KEY"
        return DEFAULT_KEY_ENV[self.provider]

    @property
    def endpoint(self) -> str:
        """The URL the seat's requests go to (its ``base_url`` or the provider's default)."""
        return self.base_url or DEFAULT_ENDPOINT.get(self.provider, "(this machine)")
