"""OpenAI chat completions, and any OpenAI-compatible server (vLLM, OpenRouter, Ollama's ``/v1``,
a llama.cpp server) through ``base_url``.

Structured output: ``response_format={"type": "json_schema", "json_schema": {"name", "schema",
"strict": true}}`` (OpenAI API reference, Chat Completions, ``response_format``); llama.cpp's
Python server takes ``{"type": "json_object", "schema": ...}`` instead (seat option
``structured_output = "json_object"``). The SDK runs on httpx2; its retries are off
(``max_retries=0``) because the review loop retries. The client reads every response within the
answer bounds (:mod:`reviewgate.providers.bounded_http`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx2
import openai

from ..core.config import SeatConfig
from ..core.errors import ProviderConnectionError, ProviderHTTPError, ProviderTimeout
from ..core.retry import parse_retry_after
from . import bounded_http
from .base import Completion, RemoteProvider, resolve_key

__all__ = ["OpenAICompatibleProvider", "OpenAIProvider"]


class OpenAIProvider(RemoteProvider):
    """One seat on the OpenAI API (``OPENAI_API_KEY`` unless the seat names another variable).

    Args:
        seat: the seat's configuration.
        client: an injected ``openai.AsyncOpenAI`` (tests, custom transports); built from the seat
            when None, reading responses within the answer bounds
            (:func:`reviewgate.providers.bounded_http.client_options`).

    Raises:
        MissingCredentials: the key variable is unset (only when a key is required).
    """

    name: ClassVar[str] = "openai"
    #: OpenAI strict mode rejects numeric and length bounds: send the strict dialect.
    schema_dialect: ClassVar[str] = "strict"
    #: Whether the endpoint needs a key; OpenAI-compatible local servers often do not.
    needs_key: ClassVar[bool] = True
    #: The token-limit parameter: OpenAI's current name; compatible servers know the older one.
    max_tokens_param: ClassVar[str] = "max_completion_tokens"

    def __init__(self, seat: SeatConfig, client: openai.AsyncOpenAI | None = None):
        self.seat = seat
        key = resolve_key(seat, required=self.needs_key or seat.api_key_env is not None)
        self.client = client or openai.AsyncOpenAI(
            api_key=key or "not-needed", base_url=seat.base_url, max_retries=0,
            timeout=seat.timeout_s,
            http_client=openai.DefaultAsyncHttpxClient(**bounded_http.client_options(httpx2)))

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any] | None:
        mode = self.seat.structured_output
        if mode == "json_schema":
            return {"type": "json_schema",
                    "json_schema": {"name": "verdict", "schema": schema, "strict": True}}
        if mode == "json_object":
            return {"type": "json_object", "schema": schema}
        return None

    async def complete(self, messages: list[dict[str, str]], *, schema: dict[str, Any],
                       timeout_s: float, hat: str = "") -> Completion:
        """One chat completion; maps SDK errors to :mod:`reviewgate.core.errors` (see base).

        Raises:
            AnswerOverBounds: the response passed the byte cap or the JSON bounds (not retried).
        """
        kwargs: dict[str, Any] = {
            "model": self.seat.model, "messages": messages,
            self.max_tokens_param: self.seat.max_output_tokens,
            "temperature": self.seat.temperature, "timeout": timeout_s,
        }
        if self.seat.seed is not None:
            kwargs["seed"] = self.seat.seed
        response_format = self._response_format(schema)
        if response_format is not None:
            kwargs["response_format"] = response_format
        try:
            response = await self.client.chat.completions.create(**kwargs)
        except openai.APITimeoutError:
            raise ProviderTimeout(f"no answer within {timeout_s:.0f} s") from None
        except openai.APIConnectionError as exc:
            raise bounded_http.own_error(exc) or ProviderConnectionError(
                f"cannot connect to {self.seat.endpoint}: {exc}") from None
        except openai.APIStatusError as exc:
            raise ProviderHTTPError(exc.status_code, exc.response.text,
                                    parse_retry_after(exc.response.headers)) from None
        usage = response.usage
        details = getattr(usage, "prompt_tokens_details", None) if usage else None
        # prompt_tokens includes the cached ones (OpenAI "Prompt caching": cached_tokens)
        tokens = {"tokens_in": (usage.prompt_tokens or 0) if usage else 0,
                  "tokens_out": (usage.completion_tokens or 0) if usage else 0,
                  "tokens_cached": (getattr(details, "cached_tokens", 0) or 0) if details else 0}
        if not response.choices:
            return Completion(text="", **tokens)
        choice = response.choices[0]
        message = choice.message
        refusal = getattr(message, "refusal", None) or ""
        if refusal or choice.finish_reason == "content_filter":
            return Completion(text=message.content or refusal, finish="refusal",
                              refusal=refusal or "content filter", **tokens)
        finish = "length" if choice.finish_reason == "length" else "stop"
        return Completion(text=message.content or "", finish=finish, **tokens)


class OpenAICompatibleProvider(OpenAIProvider):
    """An OpenAI-compatible server at the seat's ``base_url``; a key only if the seat names one."""

    name: ClassVar[str] = "openai-compatible"
    needs_key: ClassVar[bool] = False
    max_tokens_param: ClassVar[str] = "max_tokens"
