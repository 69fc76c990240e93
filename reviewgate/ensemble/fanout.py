"""The fan-out: every (seat, hat) ballot runs concurrently, each within its seat's timeout.

One retry policy for every provider and forge (:mod:`reviewgate.core.retry`; the SDKs' own
retries are off). An answer that is not a valid verdict gets one re-ask carrying the validation
errors; extraction runs in a worker thread (size-capped, see
:mod:`reviewgate.core.answer_bounds`) so one huge answer never stalls the other
ballots. A ballot's ``timeout_s`` bounds all of it (attempts, waits, re-ask), measured from when
the seat can start (the embedded model runs one ballot at a time). Whatever goes wrong, the
ballot becomes ABSTAIN with the reason and the raw text it got; one seat never crashes the run.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Callable

from tenacity import AsyncRetrying

from ..core.retry import policy

from .cache import VerdictCache, ballot_key
from ..core.catalogue import ballot_cost
from ..core.config import Profile, SeatConfig
from ..context.packing import ContextPack
from ..core.errors import ProviderError, ProviderTimeout, redact
from ..context.prompts import Prompter
from ..providers import Provider, make_provider
from ..providers.base import Completion
from ..core.extraction import ExtractionError, extract_verdict
from ..core.verdict import Answer, Ballot, RoundVerdict, Verdict, verdict_schema

__all__ = ["Progress", "complete_with_retries", "run_review"]

@dataclass
class Progress:
    """A progress event: ``state`` is ``running`` or ``done`` (then ``ballot`` is set)."""

    seat: str
    hat: str
    state: str
    ballot: Ballot | None = None


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, ProviderError) and exc.retryable


class _Ballot:
    """Mutable state of one ballot while it runs."""

    def __init__(self, seat: SeatConfig, hat: str, provider_name: str):
        self.seat, self.hat = seat, hat
        self.answers: list[Answer] = []
        self.attempts = 0
        self.provider_name = provider_name

    def finish(self, started: float, *, vote: str = "ABSTAIN", verdict: Verdict | None = None,
               error: str | None = None) -> Ballot:
        tokens_in = sum(a.tokens_in for a in self.answers)
        tokens_out = sum(a.tokens_out for a in self.answers)
        cached = sum(a.tokens_cached for a in self.answers)
        written = sum(a.tokens_cache_write for a in self.answers)
        cost = ballot_cost(self.seat, tokens_in=tokens_in, tokens_out=tokens_out,
                           tokens_cached=cached, tokens_cache_write=written)
        marks = []
        if isinstance(verdict, RoundVerdict):  # the marks go beside the plain verdict
            marks = verdict.carried
            verdict = Verdict.model_validate(verdict.model_dump(exclude={"carried"}))
        return Ballot(seat=self.seat.name, hat=self.hat, provider=self.provider_name,
                      model=self.seat.model, vote=vote, verdict=verdict, marks=marks,
                      raw=self.answers[-1].text if self.answers else "", answers=self.answers,
                      error=redact(error) if error else None, tokens_in=tokens_in,
                      tokens_out=tokens_out, tokens_cached=cached, tokens_cache_write=written,
                      latency_s=round(time.monotonic() - started, 3),
                      attempts=self.attempts, cost_usd=cost)


async def complete_with_retries(provider: Provider, seat: SeatConfig,
                                messages: list[dict[str, str]], *, schema: dict,
                                deadline: float, hat: str,
                                on_attempt: Callable[[], None] | None = None) -> Completion:
    """One completion under the shared retry policy (module docstring), each attempt given
    the time left until ``deadline`` (a ``time.monotonic()`` value, seconds).

    Raises:
        ProviderError: a non-retryable failure, or the last one when the attempts ran out;
            ProviderTimeout when the deadline passed.
    """
    retrying = AsyncRetrying(**policy(seat.max_attempts, _retryable))
    completion: Completion | None = None
    async for attempt in retrying:
        with attempt:
            if on_attempt is not None:
                on_attempt()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProviderTimeout("deadline passed")
            completion = await provider.complete(messages, schema=schema, timeout_s=remaining,
                                                 hat=hat)
    assert completion is not None
    return completion


async def _call(provider: Provider, state: _Ballot, messages: list[dict[str, str]],
                deadline: float, carried: bool = False) -> Completion:
    def counted() -> None:
        state.attempts += 1

    completion = await complete_with_retries(
        provider, state.seat, messages, deadline=deadline, hat=state.hat, on_attempt=counted,
        schema=verdict_schema(getattr(provider, "schema_dialect", "full"), carried=carried))
    state.answers.append(Answer(text=completion.text, finish=completion.finish,
                                tokens_in=completion.tokens_in, tokens_out=completion.tokens_out,
                                refusal=completion.refusal,
                                tokens_cached=completion.tokens_cached,
                                tokens_cache_write=completion.tokens_cache_write))
    return completion


#: A prompt and answer that fill this share of a seat's context window were probably cut by
#: the server (Ollama truncates a prompt longer than ``num_ctx`` and answers 200).
FULL_WINDOW = 0.98


def _unusable(completion: Completion, seat: SeatConfig) -> str | None:
    if completion.finish == "length":
        return f"output cut at the token limit ({seat.max_output_tokens} tokens)"
    if completion.finish == "refusal":
        return f"refused: {completion.refusal[:200]}"
    window = seat.context_window or 0
    used = completion.tokens_in + completion.tokens_out
    if window and used >= FULL_WINDOW * window:
        return (f"the prompt filled the context window ({used} of {window} tokens): the "
                "server may have cut it, so what the seat saw is not the pack")
    return None


async def _run_ballot(provider: Provider, seat: SeatConfig, hat: str, pack: ContextPack,
                      prompter: Prompter, on_start: Callable[[], None]) -> Ballot:
    state = _Ballot(seat, hat, getattr(provider, "name", seat.provider))
    async with provider.slot(hat):
        on_start()
        started = time.monotonic()
        deadline = started + seat.timeout_s
        try:
            async with asyncio.timeout(seat.timeout_s):
                messages = prompter.review_messages(
                    pack, hat, schema_in_prompt=getattr(provider, "schema_in_prompt", True))
                ids = [c.id for c in pack.carried]
                asked = messages
                for reask in (False, True):  # the answer, then at most one re-ask
                    completion = await _call(provider, state, asked, deadline, bool(ids))
                    if reason := _unusable(completion, seat):
                        return state.finish(started, error=reason)
                    try:
                        verdict = await asyncio.to_thread(extract_verdict, completion.text, ids)
                    except ExtractionError as exc:
                        if reask:
                            return state.finish(started, error=f"unparseable after re-ask: {exc}")
                        asked = prompter.reask_messages(messages, completion.text, exc.errors)
                        continue
                    return state.finish(started, vote=verdict.vote, verdict=verdict)
                raise AssertionError("unreachable: the loop returns")
        except (TimeoutError, ProviderTimeout):
            return state.finish(started, error=f"timeout after {seat.timeout_s:g} s")
        except ProviderError as exc:
            return state.finish(started, error=str(exc))
        except Exception as exc:  # one seat never crashes the run
            return state.finish(started, error=f"internal error: {type(exc).__name__}: {exc}")


async def run_review(profile: Profile, pack: ContextPack | dict[str, ContextPack],
                     prompter: Prompter, *,
                     providers: dict[str, Provider] | None = None,
                     on_progress: Callable[[Progress], None] | None = None,
                     cache: VerdictCache | None = None,
                     cache_read: bool = True) -> list[Ballot]:
    """Run every (seat, hat) ballot of ``profile`` concurrently.

    Args:
        profile: seats and hats.
        pack: the context pack every ballot reviews, or seat name -> that seat's pack.
        prompter: renders the prompts.
        providers: seat name -> provider to use instead of building one (tests, replay).
        on_progress: called with a :class:`Progress` when a ballot starts and ends.
        cache: the verdict cache: a ballot found there (``cache_read``) is not asked again,
            and every new ballot with a valid verdict is stored. It never raises: what goes
            wrong with it is in ``cache.warnings``.

    Returns:
        the ballots in seat-then-hat order (len = seats x hats). A seat whose provider cannot be
        built (missing key) abstains in every hat with the reason.

    Raises:
        UserError: a setup mistake no ballot can survive (e.g. the local extra is missing).
    """
    packs = pack if isinstance(pack, dict) else {seat.name: pack for seat in profile.seats}
    keys: dict[tuple[str, str], str] = {}
    hits: dict[tuple[str, str], Ballot] = {}
    if cache is not None:
        for seat in profile.seats:
            for hat in profile.hats:
                key = ballot_key(seat, hat, prompter.review_messages(packs[seat.name], hat),
                                 prompter.nonce)
                keys[(seat.name, hat)] = key
                hit = cache.get(key) if cache_read else None
                if hit is not None:
                    hits[(seat.name, hat)] = hit.model_copy(
                        update={"cached": True, "seat": seat.name, "hat": hat})
    built: dict[str, Provider] = dict(providers or {})
    failed: dict[str, str] = {}
    locks = {seat.name: asyncio.Lock() for seat in profile.seats}

    async def client(seat: SeatConfig) -> Provider | None:
        """The seat's client, built on first use in a worker thread: a seat whose SDK is still
        importing does not hold back the ballots of seats that are ready."""
        async with locks[seat.name]:
            if seat.name not in built and seat.name not in failed:
                try:
                    built[seat.name] = await asyncio.to_thread(make_provider, seat)
                except ProviderError as exc:
                    failed[seat.name] = str(exc)
        return built.get(seat.name)

    async def one(seat: SeatConfig, hat: str) -> Ballot:
        provider = None if (seat.name, hat) in hits else await client(seat)
        if (seat.name, hat) in hits:
            ballot = hits[(seat.name, hat)]
        elif provider is None:
            ballot = _Ballot(seat, hat, seat.provider).finish(time.monotonic(),
                                                              error=failed[seat.name])
        else:
            def started() -> None:
                if on_progress:
                    on_progress(Progress(seat.name, hat, "running"))

            ballot = await _run_ballot(provider, seat, hat, packs[seat.name], prompter, started)
            if cache is not None:  # off the event loop: a locked store waits for its lock
                await asyncio.to_thread(cache.put, keys[(seat.name, hat)], ballot)
        if on_progress:
            on_progress(Progress(seat.name, hat, "done", ballot))
        return ballot

    try:
        return list(await asyncio.gather(*(one(seat, hat) for seat in profile.seats
                                           for hat in profile.hats)))
    finally:
        for name, provider in built.items():
            if providers is None or name not in providers:
                await provider.aclose()
