"""The embedded model's queue (one hat's ballots back to back) and its grammar sampler (the
likely tokens checked first; every answer still follows the verdict schema)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from reviewgate.providers.local import _Turns


def test_turns_run_one_at_a_time_and_keep_a_hat_together():
    """Arrivals tech, product, tech, product while busy: the queue serves tech, tech, then
    product, product; never two at once."""
    order: list[str] = []
    running = 0

    async def ballot(turns: _Turns, name: str, hat: str) -> None:
        nonlocal running
        await turns.acquire(hat)
        try:
            running += 1
            assert running == 1
            order.append(name)
            await asyncio.sleep(0.01)
        finally:
            running -= 1
            turns.release()

    async def main() -> None:
        turns = _Turns()
        await turns.acquire("tech")  # the first ballot holds the model
        tasks = [asyncio.create_task(ballot(turns, n, h)) for n, h in
                 (("p1", "product"), ("t2", "tech"), ("p2", "product"), ("t3", "tech"))]
        await asyncio.sleep(0)
        turns.release()
        await asyncio.gather(*tasks)
        assert not turns.busy and not turns.waiters

    asyncio.run(main())
    assert order == ["t2", "t3", "p1", "p2"]


def test_a_cancelled_waiter_never_holds_the_queue():
    """A ballot cancelled while waiting (its timeout) leaves the queue; one cancelled just as
    its turn came passes the turn on."""
    async def main() -> None:
        turns = _Turns()
        await turns.acquire("tech")
        waiting = asyncio.create_task(turns.acquire("tech"))
        await asyncio.sleep(0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert turns.waiters == []
        handed = asyncio.create_task(turns.acquire("tech"))
        after = asyncio.create_task(turns.acquire("product"))
        await asyncio.sleep(0)
        turns.release()  # the turn goes to `handed` ...
        handed.cancel()  # ... which is cancelled before it runs: `after` gets it
        with pytest.raises(asyncio.CancelledError):
            await handed
        await asyncio.wait_for(after, 1)
        assert turns.busy and turns.last == "product"
        turns.release()
        assert not turns.busy

    asyncio.run(main())


@pytest.mark.model
def test_grammar_first_answers_follow_the_schema_with_few_full_scans():
    """Three seeded generations on the embedded model: each answer parses as a verdict, the
    grammar needed the whole vocabulary for a minority of tokens, and a passed deadline ends
    the generation at once with PastDeadline kept for the caller."""
    pytest.importorskip("llama_cpp")
    import llama_cpp

    from reviewgate.providers.grammar_sampler import GrammarFirst, PastDeadline
    from reviewgate.providers.local import DEFAULT_MODEL
    from reviewgate.providers.local_worker import load_model
    from reviewgate.core.verdict import Verdict, verdict_schema

    llm = load_model(DEFAULT_MODEL, 2048)
    schema = verdict_schema("grammar")
    messages = [{"role": "user", "content": "Review: the change caches the SSL context of "
                 "the HTTP adapter at import time. Answer with the verdict JSON."}]
    for seed in (1, 2, 3):
        sampler = GrammarFirst(llm, schema, seed=seed, temperature=0.7,
                               deadline=time.monotonic() + 120)
        try:
            out = llm.create_chat_completion(
                messages=messages, max_tokens=450, temperature=0.0,
                logits_processor=llama_cpp.LogitsProcessorList([sampler]))
        finally:
            sampler.close()
        choice = out["choices"][0]
        if choice["finish_reason"] == "length":
            continue  # cut at the limit: the ballot abstains, nothing to parse
        verdict = Verdict.model_validate(json.loads(choice["message"]["content"]))
        assert verdict.vote in {"OK", "NOT_OK", "ABSTAIN"}
        assert sampler.steps == out["usage"]["completion_tokens"] + 1  # + the end token
        assert sampler.full < sampler.steps / 4
    late = GrammarFirst(llm, schema, seed=1, temperature=0.7, deadline=time.monotonic() - 1)
    try:
        out = llm.create_chat_completion(messages=messages, max_tokens=20, temperature=0.0,
                                         logits_processor=llama_cpp.LogitsProcessorList([late]))
    finally:
        late.close()
    assert isinstance(late.failure, PastDeadline) and late.steps == 0
    assert out["usage"]["completion_tokens"] == 0


@pytest.mark.model
def test_a_local_ballot_stops_generating_at_its_deadline():
    """The deadline ends the generation itself in the worker (not only the wait for it): the
    call raises ProviderTimeout within seconds (a 450-token allowance at about 35 tokens/s
    would take 13 s), and the same worker answers the next ballot."""
    pytest.importorskip("llama_cpp")
    from reviewgate.core.config import SeatConfig
    from reviewgate.core.errors import ProviderTimeout
    from reviewgate.providers import local
    from reviewgate.core.verdict import verdict_schema

    seat = SeatConfig(name="g", provider="local", model=local.DEFAULT_MODEL, seed=1,
                      context_window=2048, max_output_tokens=450, temperature=0.7)
    provider = local.LocalProvider(seat)
    schema = verdict_schema("grammar")
    warm = [{"role": "user", "content": "Answer with the verdict JSON: vote OK."}]
    provider._run(warm, schema, 120.0)  # the worker has loaded the model before the clock
    worker = local._worker()
    messages = [{"role": "user", "content": "Write a very long verdict with many risks."}]
    started = time.monotonic()
    with pytest.raises(ProviderTimeout, match="passed its deadline"):
        provider._run(messages, schema, 0.3)
    assert time.monotonic() - started < 3
    assert local._worker() is worker and worker.proc.is_alive() and worker.dead is None
    assert provider._run(warm, schema, 120.0).text  # the model is free for the next ballot
