"""Anthropic Messages API with native structured output.

Request: ``output_config={"format": {"type": "json_schema", "schema": ...}}`` (Anthropic docs,
"Structured outputs"; SDK type ``anthropic.types.OutputConfigParam``) and no ``temperature``
(``messages.create`` of the 2.x SDK no longer accepts it). The system message goes in
the top-level ``system`` field. The user message is sent as two text blocks split where the hat's
part begins, the first marked ``cache_control: {"type": "ephemeral"}`` (Anthropic docs, "Prompt
caching"): the system text, pull request, norms, diff and context are one cacheable prefix that
the other hat and a re-run read at the cache price (prompts under the model's minimum are simply
not cached). ``stop_reason`` ``max_tokens`` means the output was cut;
``refusal`` means the model declined. The SDK runs on httpx2; its retries are off. The client
reads every response within the answer bounds (:mod:`reviewgate.providers.bounded_http`; the SDK
wraps the bound's error in ``APIConnectionError``, which is unwrapped here).
"""

from __future__ import annotations

from typing import Any, ClassVar

import anthropic
import httpx2

from ..core.config import SeatConfig
from ..core.errors import ProviderConnectionError, ProviderHTTPError, ProviderTimeout
from ..core.schema import HAT_MARKER
from ..core.retry import parse_retry_after
from . import bounded_http
from .base import Completion, RemoteProvider, resolve_key

__all__ = ["AnthropicProvider"]


class AnthropicProvider(RemoteProvider):
    """One seat on the Anthropic API (``ANTHROPIC_API_KEY`` unless the seat names another).

    Args:
        seat: the seat's configuration.
        client: an injected ``anthropic.AsyncAnthropic``; built from the seat when None,
            reading responses within the answer bounds
            (:func:`reviewgate.providers.bounded_http.client_options`).

    Raises:
        MissingCredentials: the key variable is unset.
    """

    name: ClassVar[str] = "anthropic"
    #: Anthropic structured outputs do not take numeric or length bounds.
    schema_dialect: ClassVar[str] = "strict"

    def __init__(self, seat: SeatConfig, client: anthropic.AsyncAnthropic | None = None):
        self.seat = seat
        key = resolve_key(seat)
        self.client = client or anthropic.AsyncAnthropic(
            api_key=key, base_url=seat.base_url, max_retries=0, timeout=seat.timeout_s,
            http_client=anthropic.DefaultAsyncHttpxClient(
                **bounded_http.client_options(httpx2)))

    async def complete(self, messages: list[dict[str, str]], *, schema: dict[str, Any],
                       timeout_s: float, hat: str = "") -> Completion:
        """One message; maps SDK errors to :mod:`reviewgate.core.errors` (see base).

        Raises:
            AnswerOverBounds: the response passed the byte cap or the JSON bounds (not retried).
        """
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        chat: list[dict[str, Any]] = [m for m in messages if m["role"] != "system"]
        if chat and chat[-1]["role"] == "user" and HAT_MARKER in chat[-1]["content"]:
            text = chat[-1]["content"]
            cut = text.index(HAT_MARKER)
            chat[-1] = {"role": "user", "content": [
                {"type": "text", "text": text[:cut], "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": text[cut:]}]}
        kwargs: dict[str, Any] = {
            "model": self.seat.model, "max_tokens": self.seat.max_output_tokens,
            "messages": chat, "timeout": timeout_s,
            "output_config": {"format": {"type": "json_schema", "schema": schema}},
        }
        if system:
            kwargs["system"] = system
        try:
            response = await self.client.messages.create(**kwargs)
        except anthropic.APITimeoutError:
            raise ProviderTimeout(f"no answer within {timeout_s:.0f} s") from None
        except anthropic.APIConnectionError as exc:
            raise bounded_http.own_error(exc) or ProviderConnectionError(
                f"cannot connect to {self.seat.endpoint}: {exc}") from None
        except anthropic.APIStatusError as exc:
            raise ProviderHTTPError(exc.status_code, exc.response.text,
                                    parse_retry_after(exc.response.headers)) from None
        text = "".join(getattr(block, "text", "") for block in response.content
                       if getattr(block, "type", "") == "text")
        usage = response.usage
        read = (getattr(usage, "cache_read_input_tokens", 0) or 0) if usage else 0
        written = (getattr(usage, "cache_creation_input_tokens", 0) or 0) if usage else 0
        # input_tokens excludes the cache reads and writes (Anthropic "Prompt caching", "Tracking
        # cache performance"): the prompt is all three
        tokens = {"tokens_in": ((usage.input_tokens or 0) if usage else 0) + read + written,
                  "tokens_out": (usage.output_tokens or 0) if usage else 0,
                  "tokens_cached": read, "tokens_cache_write": written}
        if response.stop_reason == "refusal":
            return Completion(text=text, finish="refusal", refusal=text or "refused", **tokens)
        finish = "length" if response.stop_reason == "max_tokens" else "stop"
        return Completion(text=text, finish=finish, **tokens)
