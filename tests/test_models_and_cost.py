"""The built-in model table (issue 8) and cache-aware usage and cost (issue 9): what a seat does
not set comes from the table, ``config check`` says where each value came from, and cache reads
and writes are priced apart through the real SDKs against loopback servers."""

from __future__ import annotations

import pytest
from loopback import Reply
from test_providers_wire import anthropic_body, openai_body, run_one

from reviewgate.cli import main
from reviewgate.core.config import SeatConfig
from reviewgate.core.catalogue import lookup
from reviewgate.core.catalogue import ballot_cost
from reviewgate.testing import verdict_json


def test_lookup_ignores_dates_and_provider_prefixes():
    assert lookup("claude-sonnet-4-5-20250929")[0] == "claude-sonnet-4-5"
    assert lookup("openai/gpt-5")[0] == "gpt-5"
    assert lookup("gpt-5-2025-08-07")[0] == "gpt-5"
    assert lookup("gpt-5-mini")[0] == "gpt-5-mini"
    assert lookup("llama3.1:8b") is None


def test_seat_values_come_from_the_seat_then_the_table_then_defaults():
    known = SeatConfig(name="s", provider="anthropic", model="claude-sonnet-4-5",
                       max_output_tokens=4000)
    assert (known.context_window, known.max_output_tokens) == (200_000, 4000)
    assert (known.price_in_per_mtok, known.price_out_per_mtok, known.price_cached_per_mtok,
            known.price_cache_write_per_mtok) == (3.0, 15.0, 0.3, 3.75)
    assert known.origin("max_output_tokens") == "seat"
    # reasoning models think inside the output limit: a larger default allowance
    assert SeatConfig(name="g", provider="openai", model="gpt-5").max_output_tokens == 16_000
    assert SeatConfig(name="o", provider="openai", model="gpt-4o").max_output_tokens == 2_048
    assert known.origin("context_window") == "built-in table (claude-sonnet-4-5)"
    unknown = SeatConfig(name="u", provider="ollama", model="qwen3:8b", price_in_per_mtok=1.0)
    assert (unknown.context_window, unknown.max_output_tokens) == (32_768, 2_048)
    assert unknown.origin("context_window") == "default"
    assert unknown.price_cached_per_mtok == 1.0  # no cache price known: the input price
    # a round trip through decision.json keeps the values in effect
    again = SeatConfig.model_validate(known.model_dump())
    assert again.context_window == 200_000 and again.price_cached_per_mtok == 0.3


def test_config_check_shows_values_and_where_they_came_from(tmp_path, capsys):
    path = tmp_path / "reviewgate.toml"
    path.write_text('[[profiles.p.seats]]\nname = "claude"\nprovider = "anthropic"\n'
                    'model = "claude-sonnet-4-5-20250929"\n[[profiles.p.seats]]\n'
                    'name = "gpt"\nprovider = "openai"\nmodel = "gpt-5"\n'
                    'context_window = 100000\n')
    main(["config", "check", "--config", str(path)])
    out = capsys.readouterr().out
    assert "context 200000 tokens" in out and "3/15/0.3/3.75" in out
    assert ("values of seat claude: context window from built-in table (claude-sonnet-4-5), "
            "max output from built-in table (claude-sonnet-4-5), prices from built-in table "
            "(claude-sonnet-4-5)") in out
    assert "values of seat gpt: context window from seat" in out


def test_ballot_cost_prices_each_kind_of_token():
    seat = SeatConfig(name="s", provider="anthropic", model="claude-sonnet-4-5")
    # 1,250 prompt tokens: 50 plain, 1,000 cache reads, 200 cache writes; 100 out
    expected = (50 * 3.0 + 1000 * 0.3 + 200 * 3.75 + 100 * 15.0) / 1e6
    assert ballot_cost(seat, tokens_in=1250, tokens_out=100, tokens_cached=1000,
                       tokens_cache_write=200) == pytest.approx(expected)


@pytest.mark.parametrize("wire", ["anthropic", "openai"])
def test_cached_tokens_are_read_from_the_wire_and_priced(wire, loopback, monkeypatch):
    """Anthropic reports cache reads/writes apart from ``input_tokens``; OpenAI counts cached
    tokens inside ``prompt_tokens``. Either way the ballot holds the whole prompt, the cached
    part, and the cost at the table's prices; Anthropic gets a cache breakpoint on the shared
    prefix, before the hat."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    if wire == "anthropic":
        body = anthropic_body(verdict_json())
        body["usage"] = {"input_tokens": 50, "output_tokens": 100,
                         "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 200}
        path, model, extra = "/v1/messages", "claude-sonnet-5-5", {}
        expected = (50 * 2.0 + 1000 * 0.2 + 200 * 2.5 + 100 * 10.0) / 1e6
        cached, written, prompt = 1000, 200, 1250
    else:
        body = openai_body(verdict_json())
        body["usage"] = {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100,
                         "prompt_tokens_details": {"cached_tokens": 800}}
        path, model, extra = "/v1/chat/completions", "gpt-5", {"api_key_env": "OPENAI_API_KEY"}
        expected = (200 * 1.25 + 800 * 0.125 + 100 * 10.0) / 1e6
        cached, written, prompt = 800, 0, 1000
    loopback.script("POST", path, Reply(200, body))
    base = loopback.url + ("/v1" if wire == "openai" else "")
    ballot = run_one(SeatConfig(name="s1", provider=wire, model=model, base_url=base,
                                timeout_s=10, **extra))
    assert ballot.vote == "OK"
    assert (ballot.tokens_in, ballot.tokens_cached, ballot.tokens_cache_write,
            ballot.tokens_out) == (prompt, cached, written, 100)
    assert ballot.cost_usd == pytest.approx(expected, abs=1e-6)
    if wire == "anthropic":
        blocks = loopback.seen[0].body["messages"][-1]["content"]
        assert blocks[0]["cache_control"] == {"type": "ephemeral"}
        assert blocks[1]["text"].startswith("\nYour hat for this ballot: ")
        assert "cache_control" not in blocks[1]
