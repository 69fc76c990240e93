"""Test doubles that ship with reviewgate: a scripted provider that records its requests.

Use it to exercise the fan-out, the decision and the outputs without a model::

    provider = ScriptedProvider(seat, {"tech": [ok_json], "product": [not_ok_json]})
    record = review_change(change, config=config, providers={seat.name: provider})
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any, AsyncContextManager, ClassVar

from .core.config import SeatConfig
from .core.errors import ProviderError
from .providers.base import Completion

__all__ = ["ScriptedProvider", "verdict_json"]


def verdict_json(vote: str = "OK", confidence: float = 0.8, *, risks: list[dict] | None = None,
                 split: bool = False, questions: list[str] | None = None,
                 summary: str = "Looks fine.", carried: dict[str, str] | None = None) -> str:
    """A valid verdict as JSON text (the shape every provider is asked for); ``carried``
    (id -> ``resolved``/``open``/``unsure``) adds the marks of an incremental round."""
    data: dict[str, Any] = {"vote": vote, "confidence": confidence, "summary": summary,
                            "risks": risks or [], "opportunities": [], "split": split,
                            "suggested_split": ["part one", "part two"] if split else [],
                            "questions": questions or []}
    if carried is not None:
        data["carried"] = [{"id": k, "status": v, "note": f"{v} in this push"}
                           for k, v in carried.items()]
    return json.dumps(data)


class ScriptedProvider:
    """Answers each hat from a script; an item may be a str, a :class:`Completion`, an
    exception instance (raised) or a float (sleep that many seconds, then take the next item).

    ``requests`` records ``(hat, messages, schema)`` for every call.
    """

    name: ClassVar[str] = "scripted"
    schema_dialect: ClassVar[str] = "strict"

    def __init__(self, seat: SeatConfig, script: dict[str, list[Any]]):
        self.seat = seat
        self.script = {hat: list(items) for hat, items in script.items()}
        self.requests: list[tuple[str, list[dict[str, str]], dict[str, Any]]] = []

    def slot(self, hat: str = "") -> AsyncContextManager[None]:
        """No queue."""
        return contextlib.nullcontext()

    async def complete(self, messages: list[dict[str, str]], *, schema: dict[str, Any],
                       timeout_s: float, hat: str = "") -> Completion:
        """The next scripted item for ``hat``."""
        self.requests.append((hat, messages, schema))
        items = self.script.get(hat) or []
        while items:
            item = items.pop(0)
            if isinstance(item, (int, float)):
                await asyncio.sleep(item)
                continue
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, Completion):
                return item
            return Completion(text=item, tokens_in=100, tokens_out=50)
        raise ProviderError(f"script for {hat} ran out")

    async def aclose(self) -> None:
        """Nothing to close."""
