"""Ollama's native chat API (``POST /api/chat``), local or Ollama Cloud.

Request: ``format=<JSON schema>`` (Ollama API docs, "Structured outputs"; Ollama Cloud accepts but
does not enforce it, so the answer is validated anyway), ``options.num_ctx`` always (Ollama
silently truncates the prompt to its default context otherwise), ``stream=false`` and an explicit
client timeout (the client has none by default). ``done_reason == "length"`` means the output was
cut. Ollama Cloud: ``base_url = "https://ollama.com"`` with ``OLLAMA_API_KEY`` sent as a bearer
token. The client runs on httpx; ``ResponseError`` carries the status but not the headers, so a
429 from Ollama is retried with backoff rather than ``retry-after``. The client reads every
response within the answer bounds (:mod:`reviewgate.providers.bounded_http`).
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
import ollama

from ..core.config import SeatConfig
from ..core.errors import ProviderConnectionError, ProviderHTTPError, ProviderTimeout
from . import bounded_http
from .base import Completion, RemoteProvider, resolve_key

__all__ = ["OllamaProvider"]


class OllamaProvider(RemoteProvider):
    """One seat on an Ollama server.

    The key comes from the seat's ``api_key_env``; a ``:cloud`` model or an ``ollama.com`` base
    URL needs one (``OLLAMA_API_KEY`` by default).

    ``client``: an injected ``ollama.AsyncClient`` (tests); built from the seat when None,
    reading responses within the answer bounds
    (:func:`reviewgate.providers.bounded_http.client_options`).

    Raises:
        MissingCredentials: a cloud seat without its key variable.
    """

    name: ClassVar[str] = "ollama"
    #: Ollama turns the schema into a grammar and keeps the bounds it can.
    schema_dialect: ClassVar[str] = "full"

    def __init__(self, seat: SeatConfig, client: ollama.AsyncClient | None = None):
        self.seat = seat
        key = resolve_key(seat, required=seat.cloud or seat.api_key_env is not None)
        headers = {"Authorization": f"Bearer {key}"} if key else None
        self.client = client or ollama.AsyncClient(
            host=seat.base_url or "http://127.0.0.1:11434", timeout=seat.timeout_s,
            headers=headers, **bounded_http.client_options(httpx))

    async def complete(self, messages: list[dict[str, str]], *, schema: dict[str, Any],
                       timeout_s: float, hat: str = "") -> Completion:
        """One non-streaming chat; maps client errors to :mod:`reviewgate.core.errors` (see
        base).

        Raises:
            AnswerOverBounds: the response passed the byte cap or the JSON bounds (not retried).
        """
        options: dict[str, Any] = {"num_ctx": self.seat.context_window,
                                   "num_predict": self.seat.max_output_tokens,
                                   "temperature": self.seat.temperature}
        if self.seat.seed is not None:
            options["seed"] = self.seat.seed
        try:
            response = await self.client.chat(model=self.seat.model, messages=messages,
                                              format=schema, options=options, stream=False)
        except ollama.ResponseError as exc:
            raise ProviderHTTPError(exc.status_code if exc.status_code > 0 else 500,
                                    str(exc.error)) from None
        except httpx.TimeoutException:
            raise ProviderTimeout(f"no answer within {timeout_s:.0f} s") from None
        except (ConnectionError, httpx.TransportError) as exc:
            raise ProviderConnectionError(
                f"cannot connect to {self.seat.endpoint}: {exc}") from None
        text = response.message.content or "" if response.message else ""
        finish = "length" if response.done_reason == "length" else "stop"
        return Completion(text=text, finish=finish, tokens_in=response.prompt_eval_count or 0,
                          tokens_out=response.eval_count or 0)
