"""Each provider adapter, through its real SDK, against a loopback server speaking its protocol."""

from __future__ import annotations

import asyncio
import time

import pytest
from loopback import Reply

from reviewgate.core.config import Profile, SeatConfig
from reviewgate.context.packing import ContextPack
from reviewgate.context.prompts import Prompter
from reviewgate.ensemble.fanout import run_review
from reviewgate.testing import verdict_json
from reviewgate.core.verdict import Ballot

SECRET = "sk-test-0123456789abcdef"


def openai_body(text: str, finish: str = "stop", refusal: str | None = None) -> dict:
    return {"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                         "message": {"role": "assistant", "content": text, "refusal": refusal}}],
            "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160}}


def anthropic_body(text: str, finish: str = "end_turn") -> dict:
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": [{"type": "text", "text": text}], "stop_reason": finish,
            "stop_sequence": None, "usage": {"input_tokens": 120, "output_tokens": 40}}


def ollama_body(text: str, finish: str = "stop") -> dict:
    return {"model": "m", "created_at": "2026-11-21T00:00:00Z",
            "message": {"role": "assistant", "content": text}, "done": True,
            "done_reason": finish, "prompt_eval_count": 120, "eval_count": 40}


# name -> (seat settings, path, body builder, length finish value, key env)
WIRES = {
    "openai": (dict(provider="openai", api_key_env="OPENAI_API_KEY"), "/v1/chat/completions",
               openai_body, "length"),
    "openai-compatible": (dict(provider="openai-compatible", structured_output="json_object"),
                          "/v1/chat/completions", openai_body, "length"),
    "anthropic": (dict(provider="anthropic"), "/v1/messages", anthropic_body, "max_tokens"),
    "ollama": (dict(provider="ollama"), "/api/chat", ollama_body, "length"),
}


def make_seat(wire: str, url: str, **over) -> SeatConfig:
    settings, *_ = WIRES[wire]
    base = url + "/v1" if wire.startswith("openai") else url
    fields = {"name": "s1", "model": "m", "base_url": base, "timeout_s": 10,
              "context_window": 4096, "max_output_tokens": 512, **settings, **over}
    return SeatConfig(**fields)


def run_one(seat: SeatConfig) -> Ballot:
    pack = ContextPack(title="t", body="", files=[], diff="--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n")
    profile = Profile(seats=[seat], hats=["tech"])
    [ballot] = asyncio.run(run_review(profile, pack, Prompter(nonce="feedface")))
    return ballot


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys for the hosted APIs (fake values, sent only to loopback)."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)


@pytest.mark.parametrize("wire", WIRES)
def test_success_sends_structured_output_request(loopback, wire):
    """A valid answer becomes a vote; the request carries the provider's structured-output shape."""
    _, path, body, _ = WIRES[wire]
    loopback.script("POST", path, Reply(200, body(verdict_json("OK", 0.7))))
    ballot = run_one(make_seat(wire, loopback.url))
    assert ballot.vote == "OK" and ballot.verdict.confidence == 0.7
    assert (ballot.tokens_in, ballot.tokens_out, ballot.attempts) == (120, 40, 1)
    [req] = loopback.requests_to(path)
    sent = req.body
    if wire == "openai":
        fmt = sent["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
        assert fmt["json_schema"]["schema"]["additionalProperties"] is False
        assert set(fmt["json_schema"]["schema"]["required"]) == set(
            fmt["json_schema"]["schema"]["properties"])
        assert sent["max_completion_tokens"] == 512
        assert req.headers["authorization"] == f"Bearer {SECRET}"
    elif wire == "openai-compatible":
        assert sent["response_format"]["type"] == "json_object"
        assert "vote" in sent["response_format"]["schema"]["properties"]
        assert sent["max_tokens"] == 512
    elif wire == "anthropic":
        fmt = sent["output_config"]["format"]
        assert fmt["type"] == "json_schema" and "risks" in fmt["schema"]["properties"]
        assert isinstance(sent["system"], str) and "UNTRUSTED" in sent["system"]
        assert [m["role"] for m in sent["messages"]] == ["user"]
        # the 2.x SDK sends the key as a bearer token; older ones used x-api-key
        assert SECRET in (req.headers.get("x-api-key", "") + req.headers.get("authorization", ""))
    else:
        assert sent["format"]["properties"]["confidence"]["maximum"] == 1.0
        assert sent["options"]["num_ctx"] == 4096 and sent["options"]["num_predict"] == 512
        assert sent["stream"] is False
    user = [m for m in sent["messages"] if m["role"] == "user"][0]["content"]
    if wire == "anthropic":  # two text blocks: the cacheable shared prefix, then the hat
        assert [b["type"] for b in user] == ["text", "text"]
        user = "".join(b["text"] for b in user)
    assert "UNTRUSTED-feedface BEGIN unified diff" in user


@pytest.mark.parametrize("wire", WIRES)
def test_429_is_retried_after_retry_after(loopback, wire):
    """429 with retry-after is retried once the wait passed, then the answer counts."""
    _, path, body, _ = WIRES[wire]
    loopback.script("POST", path,
                    Reply(429, {"error": {"message": "slow down"}}, {"retry-after": "1"}),
                    Reply(200, body(verdict_json("NOT_OK", 0.6))))
    started = time.monotonic()
    ballot = run_one(make_seat(wire, loopback.url))
    assert ballot.vote == "NOT_OK" and ballot.attempts == 2
    assert len(loopback.requests_to(path)) == 2
    if wire != "ollama":  # the ollama client drops response headers: backoff instead
        assert time.monotonic() - started >= 1.0


@pytest.mark.parametrize("wire", WIRES)
def test_401_is_not_retried_and_key_is_not_leaked(loopback, wire):
    """401 abstains at once, and the key never appears in the ballot."""
    _, path, _, _ = WIRES[wire]
    loopback.script("POST", path, Reply(401, {"error": f"bad key {SECRET}"}),
                    Reply(401, {"error": "again"}))
    ballot = run_one(make_seat(wire, loopback.url, api_key_env="OPENAI_API_KEY"))
    assert ballot.vote == "ABSTAIN" and "HTTP 401" in ballot.error
    assert SECRET not in ballot.model_dump_json()
    assert len(loopback.requests_to(path)) == 1


@pytest.mark.parametrize("wire", WIRES)
def test_timeout_abstains_within_the_seat_timeout(loopback, wire):
    """A server slower than the seat's timeout gives ABSTAIN without delaying past it."""
    _, path, body, _ = WIRES[wire]
    loopback.script("POST", path, Reply(200, body(verdict_json()), delay=4))
    started = time.monotonic()
    ballot = run_one(make_seat(wire, loopback.url, timeout_s=1))
    elapsed = time.monotonic() - started
    assert ballot.vote == "ABSTAIN" and ballot.error == "timeout after 1 s"
    assert elapsed < 2.5


@pytest.mark.parametrize("wire", WIRES)
def test_output_cut_at_token_limit_abstains_without_repair(loopback, wire):
    """finish/stop/done reason 'length' is a failed ballot: no repair, no re-ask."""
    _, path, body, length = WIRES[wire]
    loopback.script("POST", path, Reply(200, body('{"vote": "OK", "confidence": 0.9, "summ',
                                                  length)))
    ballot = run_one(make_seat(wire, loopback.url))
    assert ballot.vote == "ABSTAIN" and "token limit" in ballot.error
    assert ballot.raw.startswith('{"vote": "OK"')
    assert len(loopback.requests_to(path)) == 1


@pytest.mark.parametrize("wire", WIRES)
def test_malformed_json_reasks_once_then_abstains_keeping_raw(loopback, wire):
    """Malformed JSON gets one re-ask carrying the errors; a second failure abstains with raw."""
    _, path, body, _ = WIRES[wire]
    loopback.script("POST", path, Reply(200, body("{vote: OK,,}")),
                    Reply(200, body("still not json")))
    ballot = run_one(make_seat(wire, loopback.url))
    assert ballot.vote == "ABSTAIN" and ballot.error.startswith("unparseable after re-ask")
    assert ballot.raw == "still not json" and ballot.answers[0].text == "{vote: OK,,}"
    first, second = loopback.requests_to(path)
    reask = second.body["messages"]
    assert reask[-2] == {"role": "assistant", "content": "{vote: OK,,}"}
    assert "not a valid ballot" in reask[-1]["content"]
    assert ballot.tokens_in == 240


@pytest.mark.parametrize("wire", WIRES)
def test_reask_recovers_invalid_verdict(loopback, wire):
    """An out-of-range confidence fails validation; the re-ask's valid answer counts."""
    _, path, body, _ = WIRES[wire]
    loopback.script("POST", path, Reply(200, body(verdict_json("OK", 100))),
                    Reply(200, body(verdict_json("OK", 0.9))))
    ballot = run_one(make_seat(wire, loopback.url))
    assert ballot.vote == "OK" and ballot.verdict.confidence == 0.9
    assert "confidence" in loopback.requests_to(path)[1].body["messages"][-1]["content"]


@pytest.mark.parametrize("wire", WIRES)
def test_think_blocks_are_stripped(loopback, wire):
    """<think> reasoning (even with JSON inside) is ignored; the answer after it counts."""
    _, path, body, _ = WIRES[wire]
    text = ('<think>maybe {"vote": "NOT_OK"} hmm</think>\nHere you go:\n```json\n'
            + verdict_json("OK", 0.55) + "\n```")
    loopback.script("POST", path, Reply(200, body(text)))
    ballot = run_one(make_seat(wire, loopback.url))
    assert ballot.vote == "OK" and ballot.verdict.confidence == 0.55


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
def test_server_errors_retry_up_to_max_attempts(loopback, wire):
    """5xx/529 are retried up to the seat's max_attempts, then the ballot abstains."""
    _, path, _, _ = WIRES[wire]
    status = 529 if wire == "anthropic" else 503
    loopback.script("POST", path, *[Reply(status, {"error": "overloaded"},
                                          {"retry-after-ms": "10"}) for _ in range(3)])
    ballot = run_one(make_seat(wire, loopback.url, max_attempts=3))
    assert ballot.vote == "ABSTAIN" and f"HTTP {status}" in ballot.error
    assert ballot.attempts == 3 and len(loopback.requests_to(path)) == 3


def test_openai_refusal_abstains_without_retry(loopback):
    """A refusal is final: ABSTAIN, one request, no re-ask."""
    loopback.script("POST", "/v1/chat/completions",
                    Reply(200, openai_body(None, refusal="I can't help with that")))
    ballot = run_one(make_seat("openai", loopback.url))
    assert ballot.vote == "ABSTAIN" and ballot.error.startswith("refused")
    assert len(loopback.requests_to("/v1/chat/completions")) == 1


def test_missing_key_abstains_naming_the_variable(monkeypatch):
    """A seat whose key variable is unset abstains with 'missing NAME', never falls back."""
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    ballot = run_one(SeatConfig(name="claude", provider="anthropic", model="m"))
    assert ballot.vote == "ABSTAIN" and ballot.error == "missing ANTHROPIC_API_KEY"


def test_connection_refused_abstains(loopback):
    """Nobody listening: connection errors are retried, then the ballot abstains."""
    url = loopback.url
    loopback.close()
    ballot = run_one(make_seat("openai", url, max_attempts=2))
    assert ballot.vote == "ABSTAIN" and "connect" in ballot.error


def test_ollama_cloud_needs_and_sends_its_key(loopback, monkeypatch):
    """A :cloud model abstains without OLLAMA_API_KEY and sends it as a bearer token with it."""
    seat = make_seat("ollama", loopback.url, model="glm-4.6:cloud")
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    assert run_one(seat).error == "missing OLLAMA_API_KEY"
    monkeypatch.setenv("OLLAMA_API_KEY", "ollama-secret-123")
    loopback.script("POST", "/api/chat", Reply(200, ollama_body(verdict_json())))
    assert run_one(seat).vote == "OK"
    assert loopback.requests_to("/api/chat")[0].headers["authorization"] == \
        "Bearer ollama-secret-123"
