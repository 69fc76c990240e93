"""Provider responses read within bounds, whatever the SDK does with them.

Every HTTP client a provider builds (``httpx2`` under the OpenAI and Anthropic SDKs, ``httpx``
under Ollama's) gets :func:`client_options`. Its request hook asks for the body uncompressed
(``Accept-Encoding: identity``); its response hook wraps the body stream before anything reads
it, so that:

* at most :data:`~reviewgate.core.answer_bounds.MAX_ANSWER_BYTES` decoded bytes are read: past
  them (or at once when ``Content-Length`` says so) the read stops with
  :class:`~reviewgate.core.errors.AnswerOverBounds` (``answer over 4,194,304 bytes``) and the
  connection is closed, so memory stays bounded whatever the server sends; a body that is gzip-
  or deflate-compressed anyway is inflated here, within the same cap (a 4 MB bomb cannot become
  4 GB); other encodings are refused;
* a JSON body is checked against the answer bounds (nesting, number size:
  :func:`reviewgate.core.answer_bounds.loads`) before the SDK parses it, so a hostile envelope
  is a named ABSTAIN, never a ``RecursionError`` inside the SDK.

A response hook sees every response the client receives, through a proxy from the environment
(``HTTPS_PROXY``) or after a redirect alike; a custom transport would instead switch those
proxies off (httpx reads them only when no transport is given).
:class:`~reviewgate.core.errors.AnswerOverBounds` is never retried: the same call would send the
same body. The Anthropic SDK wraps any exception of a read in ``APIConnectionError``:
:func:`own_error` finds ours again.
"""

from __future__ import annotations

import functools
import json
import zlib
from types import ModuleType
from typing import Any, AsyncIterator

from ..core import answer_bounds
from ..core.errors import AnswerOverBounds, ProviderError

__all__ = ["client_options", "own_error"]


def client_options(lib: ModuleType, max_bytes: int | None = None) -> dict[str, Any]:
    """Keyword arguments for ``lib.AsyncClient`` (``lib`` is ``httpx`` or ``httpx2``; SDK
    wrappers such as ``openai.DefaultAsyncHttpxClient`` take them too) that bound every
    response body at ``max_bytes`` decoded bytes (default:
    :data:`~reviewgate.core.answer_bounds.MAX_ANSWER_BYTES`, read when the client is built).

    Reading a response of such a client raises :class:`~reviewgate.core.errors.
    AnswerOverBounds` past the cap or past the JSON bounds, and :class:`~reviewgate.core.
    errors.ProviderError` for a content encoding other than identity, gzip or deflate.
    """
    cap = max_bytes or answer_bounds.MAX_ANSWER_BYTES
    capped = _capped_stream_class(lib)

    async def on_request(request: Any) -> None:
        request.headers["Accept-Encoding"] = "identity"

    async def on_response(response: Any) -> None:
        is_json = "json" in response.headers.get("content-type", "")
        if response.is_stream_consumed:  # an in-memory body (a mock transport): check it
            if len(response.content) > cap:
                raise _over(cap)
            if is_json:
                _check_json(response.content)
            return
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > cap:
            raise _over(cap)
        encoding = response.headers.get("content-encoding", "").strip().lower()
        inflater = _inflater(encoding)
        if encoding:
            del response.headers["content-encoding"]  # inflated here: the client must not
        response.stream = capped(response.stream, cap, inflater, is_json)

    return {"event_hooks": {"request": [on_request], "response": [on_response]}}


def own_error(exc: BaseException) -> ProviderError | None:
    """The :class:`~reviewgate.core.errors.ProviderError` that caused ``exc`` (an SDK's
    connection error wrapping what :func:`client_options` raised while reading), or None."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, ProviderError):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def _over(cap: int) -> AnswerOverBounds:
    return AnswerOverBounds(f"answer over {cap:,} bytes")


class _Inflater:
    """A bounded decoder for a gzip- or deflate-encoded body: each call returns at most
    ``limit`` bytes."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 32)  # zlib or gzip header

    def decode(self, data: bytes, limit: int) -> bytes:
        """The bytes ``data`` inflates to, at most ``limit`` (more means over the cap)."""
        try:
            return self._zlib.decompress(data, limit)
        except zlib.error as exc:
            raise ProviderError(f"answer body cannot be inflated ({self.encoding}): "
                                f"{exc}") from None

    def flush(self, limit: int) -> bytes:
        """What is left once the body ended (input was always consumed whole below the cap)."""
        try:
            return self._zlib.flush()[:limit]
        except zlib.error as exc:
            raise ProviderError(f"answer body cannot be inflated ({self.encoding}): "
                                f"{exc}") from None


def _inflater(encoding: str) -> _Inflater | None:
    """The decoder for the response's ``Content-Encoding``; None for no encoding.

    Raises:
        ProviderError: an encoding other than identity, gzip or deflate (or several).
    """
    if encoding in ("", "identity"):
        return None
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise ProviderError(f"answer in content encoding {encoding!r}, which is not read "
                            "(identity was asked for)")
    return _Inflater(encoding)


@functools.lru_cache(maxsize=None)
def _capped_stream_class(lib: ModuleType) -> type:
    """The body stream wrapper for ``lib`` (it must be that library's ``AsyncByteStream``)."""

    class CappedStream(lib.AsyncByteStream):  # type: ignore[name-defined, misc]
        """The inner stream, inflated if need be, at most ``cap`` bytes; a JSON body is
        checked against the answer bounds once complete."""

        def __init__(self, inner: Any, cap: int, inflater: _Inflater | None,
                     is_json: bool) -> None:
            self._inner, self._cap, self._inflater, self._is_json = (inner, cap, inflater,
                                                                      is_json)

        @property
        def elapsed(self) -> Any:
            """The inner stream's elapsed time (httpx2 reads ``response.elapsed`` from it)."""
            return getattr(self._inner, "elapsed", None)

        async def __aiter__(self) -> AsyncIterator[bytes]:
            size = 0
            kept: list[bytes] = []
            chunks = self._inner.__aiter__()
            try:
                async for raw in chunks:
                    if not raw:
                        continue
                    data = (self._inflater.decode(raw, self._cap - size + 1)
                            if self._inflater else raw)
                    size += len(data)
                    if size > self._cap:
                        raise _over(self._cap)
                    if self._is_json:
                        kept.append(data)
                    yield data
                if self._inflater is not None:
                    tail = self._inflater.flush(self._cap - size + 1)
                    size += len(tail)
                    if size > self._cap:
                        raise _over(self._cap)
                    kept.append(tail)
                    yield tail
            finally:
                if hasattr(chunks, "aclose"):
                    await chunks.aclose()
            if self._is_json:
                _check_json(b"".join(kept))

        async def aclose(self) -> None:
            await self._inner.aclose()

    return CappedStream


def _check_json(body: bytes) -> None:
    """Raise :class:`~reviewgate.core.errors.AnswerOverBounds` when ``body`` is JSON past the
    answer bounds; a body that is not JSON is left to the SDK."""
    text = body.decode("utf-8", "replace")
    try:
        answer_bounds.loads(text, len(text) - len(text.lstrip()))
    except answer_bounds.OverBounds as exc:
        raise AnswerOverBounds(f"{exc} (the response body)") from None
    except json.JSONDecodeError:
        pass
