"""Answers from an earlier run's ``decision.json``: reproduce a decision without calling a model.

Each recorded ballot keeps every raw answer in order (the first answer and, when there was one,
the re-ask's) with its finish reason and usage. Replaying feeds those answers through the same
extraction and decision code, so the same record gives the same decision. A ballot that got no
answer (timeout, HTTP error, missing key) replays as the same error.
"""

from __future__ import annotations

import contextlib
from typing import Any, AsyncContextManager, ClassVar

from ..core.config import SeatConfig
from ..core.errors import ProviderError
from ..core.verdict import Ballot
from .base import Completion

__all__ = ["ReplayProvider"]


class ReplayProvider:
    """Serves one seat's recorded answers, per hat, in the order they were given.

    Args:
        seat: the recorded seat.
        ballots: the recorded ballots of this seat, one per hat.
    """

    name: ClassVar[str] = "replay"
    schema_dialect: ClassVar[str] = "full"

    def __init__(self, seat: SeatConfig, ballots: list[Ballot]):
        self.seat = seat
        self._ballots = {b.hat: b for b in ballots}
        self._next = {b.hat: 0 for b in ballots}

    def slot(self, hat: str = "") -> AsyncContextManager[None]:
        """Nothing to wait for."""
        return contextlib.nullcontext()

    async def complete(self, messages: list[dict[str, str]], *, schema: dict[str, Any],
                       timeout_s: float, hat: str = "") -> Completion:
        """The next recorded answer for ``hat``.

        Raises:
            ProviderError: with the recorded error when no (further) answer was recorded.
        """
        ballot = self._ballots.get(hat)
        if ballot is None:
            raise ProviderError(f"no recorded ballot for {hat}-{self.seat.name}")
        index = self._next[hat]
        if index >= len(ballot.answers):
            raise ProviderError(ballot.error or "no recorded answer")
        self._next[hat] = index + 1
        answer = ballot.answers[index]
        return Completion(text=answer.text, finish=answer.finish, tokens_in=answer.tokens_in,
                          tokens_out=answer.tokens_out, refusal=answer.refusal)

    async def aclose(self) -> None:
        """Nothing to close."""
