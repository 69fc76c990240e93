"""Budgets with a defined outcome (issue "Steer by cost and by outcomes"): the run's upper-bound
estimate is compared with `[budget]` before any model is called; over it, the fallback profile
reviews (and the comment says so), or no model is called and the gate says `error`."""

from __future__ import annotations

import json

from loopback import Reply
from test_canary import HEAD, canary, forgejo, ours  # noqa: F401 - the fixture
from test_cli import write_config
from test_providers_wire import openai_body

from reviewgate.cli import main
from reviewgate.core.config import load_config
from reviewgate.ensemble.budget import check, typical_round_usd
from reviewgate.gate import read_rounds
from reviewgate.testing import verdict_json

# One ballot of the test seats: about 5,000 prompt tokens at $3/M plus 2,048 output tokens at
# $15/M (the default output limit of a model the built-in table does not know): about $0.046;
# six ballots about $0.28.


def budget_config(tmp_path, url, budget: str, *, fallback: bool = False,
                  unpriced: bool = False) -> str:
    path = write_config(tmp_path, url)
    text = open(path).read()
    if unpriced:
        text = text.replace("price_in_per_mtok = 3.0\n", "").replace(
            "price_out_per_mtok = 15.0\n", "")
    if fallback:  # one cheap seat, two hats, quorum 1
        text += ("[profiles.cheap]\n[profiles.cheap.policy]\nquorum = 1\n"
                 "[[profiles.cheap.seats]]\nname = \"mini\"\nprovider = \"openai-compatible\"\n"
                 f"model = \"model-mini\"\nbase_url = \"{url}/v1\"\ntimeout_s = 5\n"
                 "price_in_per_mtok = 0.1\nprice_out_per_mtok = 0.4\n")
    open(path, "w").write(text + "[budget]\n" + budget)
    return path


def serve_usage(loopback, prompt_tokens: int = 120):
    """Every seat answers OK, reporting ``prompt_tokens`` of usage."""
    def handler(seen):
        body = openai_body(verdict_json("OK"))
        body["usage"] = {"prompt_tokens": prompt_tokens, "completion_tokens": 40,
                         "total_tokens": prompt_tokens + 40}
        return Reply(200, body)
    loopback.route("POST", "/v1/chat/completions", handler)


def test_over_the_run_budget_calls_no_model(forgejo, loopback, tmp_path, capsys):  # noqa: F811
    """An estimate over `run_usd` and no fallback: no model request, `error` on the head with
    the reason, exit 12, and no comment posted."""
    config = budget_config(tmp_path, loopback.url, "run_usd = 0.10\n")
    serve_usage(loopback)
    assert canary(forgejo, config) == 12
    assert loopback.seen == []
    row = forgejo.status_rows(HEAD)[-1]
    assert row["status"] == "error"
    assert "not reviewed: estimated $0." in row["description"]
    assert "over the $0.10 run budget" in row["description"]
    assert "over the $0.10 run budget" in capsys.readouterr().err
    assert ours(forgejo) == []


def test_over_budget_the_fallback_profile_reviews(forgejo, loopback, tmp_path):  # noqa: F811
    """With `fallback_profile`, the fallback's seats are called instead (only them), and the
    decision comment and `decision.json` say why."""
    config = budget_config(tmp_path, loopback.url,
                           "run_usd = 0.10\nfallback_profile = \"cheap\"\n", fallback=True)
    serve_usage(loopback)
    out = tmp_path / "decision.json"
    assert canary(forgejo, config, "--out", str(out)) == 0
    models = {s.body["model"] for s in loopback.seen}
    assert models == {"model-mini"}
    [decision] = [c for c in ours(forgejo) if "reviewgate:decision" in c["body"]]
    assert "run budget: reviewed with the fallback profile 'cheap'" in decision["body"]
    record = json.loads(out.read_text())
    assert record["config"]["profile_name"] == "cheap"
    assert record["budget"]["fallback_reason"].startswith("estimated $0.")


def test_the_pull_request_budget_counts_earlier_rounds(forgejo, loopback, tmp_path,  # noqa: F811
                                                       capsys):
    """`pull_request_usd` sums the earlier rounds' spend from the gate's own round history:
    two forced rounds fit, a third would go over what is left and is refused."""
    est_config = budget_config(tmp_path, loopback.url, "run_usd = 100\n")
    serve_usage(loopback, prompt_tokens=20_000)  # each ballot reports $0.06 + $0.0006 spent
    out = tmp_path / "r1.json"
    assert canary(forgejo, est_config, "--out", str(out)) == 0
    estimate = json.loads(out.read_text())["budget"]["estimate_usd"]
    [decision] = [c for c in ours(forgejo) if "reviewgate:decision" in c["body"]]
    [first] = read_rounds(decision["body"])
    spent = first.cost  # what round 1 spent
    assert 0.3 < spent < 0.5 and 0.1 < estimate < 0.5
    # room for round 2 (one round spent, one estimate), not for round 3 (two spent, one more)
    config = budget_config(tmp_path, loopback.url,
                           f"pull_request_usd = {2 * spent + estimate / 2:.4f}\n")
    assert canary(forgejo, config, "--force") == 0
    rounds = read_rounds([c for c in ours(forgejo)
                          if "reviewgate:decision" in c["body"]][0]["body"])
    assert len(rounds) == 2 and all(r.cost > 0.3 for r in rounds)
    assert abs(rounds[-1].spent - (rounds[0].cost + rounds[1].cost)) < 1e-5  # running total
    calls = len(loopback.seen)
    assert canary(forgejo, config, "--force") == 12
    assert len(loopback.seen) == calls
    err = capsys.readouterr().err
    assert "left of the $" in err and "pull request budget" in err and "spent)" in err


def test_a_demo_profile_is_no_budget_fallback(loopback, tmp_path):
    """A round over budget must not be judged by the demo model (attack round 3: the gate
    checked the profile asked for, not the fallback that ran, and the demo passed): naming the
    built-in `local` profile, or any demo profile, as the fallback is a configuration error."""
    import pytest

    from reviewgate.core.errors import ConfigError

    path = budget_config(tmp_path, loopback.url, "run_usd = 0.10\nfallback_profile = \"local\"\n")
    with pytest.raises(ConfigError, match="demo profile 'local'"):
        load_config(path)


def test_an_unpriced_seat_is_refused_under_a_budget(forgejo, loopback, tmp_path):  # noqa: F811
    """A seat with no price makes the estimate unknown: a budget refuses it unless
    `allow_unpriced = true`."""
    config = budget_config(tmp_path, loopback.url, "run_usd = 1.0\n", unpriced=True)
    serve_usage(loopback)
    assert canary(forgejo, config) == 12
    assert loopback.seen == []
    assert "is unknown (no price)" in forgejo.status_rows(HEAD)[-1]["description"]
    allowed = budget_config(tmp_path, loopback.url, "run_usd = 1.0\nallow_unpriced = true\n",
                            unpriced=True)
    assert canary(forgejo, allowed) == 0


def test_the_estimate_is_an_upper_bound_of_what_a_round_spends(loopback, tmp_path):
    """The estimate (prompt plus the whole output limit per ballot) is at least what the
    round reports spending, and `config check` prints it for a typical round."""
    config = load_config(budget_config(tmp_path, loopback.url, "run_usd = 0.50\n"))
    _, profile = config.profile(None)
    state, over = check(config.budget, "canary", profile, 0.28)
    assert over == "" and state.estimate_usd == 0.28
    state, over = check(config.budget, "canary", profile, 0.51)
    assert over == "not reviewed: estimated $0.51 over the $0.50 run budget"
    typical = typical_round_usd(profile)
    # six ballots: a 32,100-token prompt (at most its 3.5 x bytes billed, one token a byte)
    # at $3/M, plus 2,048 output tokens at $15/M
    seat = profile.seats[0]
    prompt = min(32_100, seat.context_window - seat.max_output_tokens) * 3.5
    assert typical == round(6 * (prompt * 3 + 2048 * 15) / 1e6, 6)


def test_config_check_prints_the_budgets(loopback, tmp_path, capsys):
    """`config check` says what a typical round costs at most and what the budgets do."""
    path = budget_config(tmp_path, loopback.url, "run_usd = 0.10\n")
    main(["config", "check", "--config", path])
    out = capsys.readouterr().out
    assert "typical round: at most $" in out
    assert "budget: run $0.10; over it: no model call and status error" in out
    assert "note: a typical round ($" in out and "is over the run budget" in out


def test_ollama_models_the_daemon_forwards_to_the_cloud_are_not_free():
    """A self-hosted Ollama model bills nothing; one whose tag names the cloud
    (`gpt-oss:120b-cloud`, forwarded by a signed-in local daemon) or an Ollama Cloud seat has
    no known price unless one is given (attack round 3: `-cloud` counted as free)."""
    from reviewgate.core.config import SeatConfig
    from reviewgate.ensemble.budget import priced

    def seat(model, **kw):
        return SeatConfig(name="s", provider="ollama", model=model, **kw)

    assert priced(seat("qwen2.5-coder:7b"))
    assert priced(seat("llama3"))
    for model in ("gpt-oss:120b-cloud", "kimi-k2:1t-cloud", "glm-4.6:cloud", "deepseek-cloud"):
        assert not priced(seat(model)), model
    assert not priced(seat("qwen3", base_url="https://ollama.com"))  # a fake seat: never called
    assert priced(seat("gpt-oss:120b-cloud", price_in_per_mtok=0.1, price_out_per_mtok=0.5))


def test_the_prompt_bound_holds_whatever_characters_the_author_chose():
    """Billed tokens never exceed UTF-8 bytes (byte-level BPE, byte fallback): text crafted to
    tokenize badly (4 bytes a character, about 4 tokens each under Gemma's byte fallback, where
    3.5 characters a token would count 0.29) is bounded; the window caps it (attack round 3:
    estimated $0.094, billed $0.578)."""
    from reviewgate.core.config import SeatConfig
    from reviewgate.ensemble.estimate import MESSAGE_OVERHEAD_TOKENS, ask_bound_usd, prompt_bound

    seat = SeatConfig(name="s", provider="openai-compatible", model="m", context_window=200_000,
                      max_output_tokens=1000, price_in_per_mtok=1.0, price_out_per_mtok=2.0)
    hostile = [{"role": "user", "content": "\U00013000" * 10_000}]  # Egyptian hieroglyphs
    assert prompt_bound(seat, hostile) == 40_000 + MESSAGE_OVERHEAD_TOKENS
    assert ask_bound_usd(seat, hostile) == (40_016 * 1.0 + 1000 * 2.0) / 1e6
    small = seat.model_copy(update={"context_window": 20_000})
    assert prompt_bound(small, hostile) == 40_016  # the configured window is the gate's own
    from reviewgate.core.catalogue import lookup
    _, info = lookup("gpt-5")
    known = SeatConfig(name="k", provider="openai", model="gpt-5", context_window=20_000)
    huge = [{"role": "user", "content": "\U00013000" * (info.context_window // 2)}]
    assert prompt_bound(known, huge) == info.context_window  # the provider's window: refused
    writes = seat.model_copy(update={"price_cache_write_per_mtok": 1.25})
    assert ask_bound_usd(writes, hostile) > ask_bound_usd(seat, hostile)  # cache writes cost more


def _one_seat_profile(consolidate: str = "deterministic"):
    from reviewgate.core.config import Profile, SeatConfig

    seat = SeatConfig(name="a", provider="openai-compatible", model="m", timeout_s=20,
                      price_in_per_mtok=1.0, price_out_per_mtok=2.0, context_window=100_000,
                      max_output_tokens=512)
    return seat, Profile(seats=[seat], hats=["tech"],
                         policy={"quorum": 1, "consolidate": consolidate})


def test_a_reask_that_would_pass_the_run_budget_is_not_made():
    """An invalid answer is asked again only when the re-ask's bound fits what the run may
    still commit; otherwise the ballot abstains and says why (one request, not two)."""
    import asyncio

    from reviewgate.context.packing import build_context
    from reviewgate.context.prompts import Prompter
    from reviewgate.core.changeset import ChangeSet
    from reviewgate.ensemble.budget import Purse
    from reviewgate.ensemble.fanout import run_review
    from reviewgate.testing import ScriptedProvider

    seat, profile = _one_seat_profile()
    pack = build_context(ChangeSet(title="t", diff="", files=[]), budget_tokens=1000, exclude=[])

    def ballot(purse):
        provider = ScriptedProvider(seat, {"tech": ["not json", verdict_json("OK")]})
        [b] = asyncio.run(run_review(profile, pack, Prompter(nonce="n"),
                                     providers={"a": provider}, purse=purse))
        return b, len(provider.requests)

    b, asked = ballot(Purse(0.001))  # a re-ask's bound is about $0.006
    assert (b.vote, asked) == ("ABSTAIN", 1) and "would pass the run budget" in b.error
    b, asked = ballot(Purse(1.0))
    assert (b.vote, asked) == ("OK", 2)
    b, asked = ballot(None)
    assert (b.vote, asked) == ("OK", 2)


def test_the_grouping_call_takes_the_bound_of_its_actual_prompt():
    """The grouping call is budgeted on the prompt the verdicts made (attack round 3: a fixed
    9,000 tokens against a 35,000-token prompt) and not made when it does not fit."""
    import asyncio

    from reviewgate.context.prompts import Prompter
    from reviewgate.core.clusters import raised_findings
    from reviewgate.core.verdict import Ballot, Verdict
    from reviewgate.ensemble.budget import Purse
    from reviewgate.ensemble.estimate import ask_bound_usd
    from reviewgate.ensemble.grouping import consolidate_with_seat
    from reviewgate.testing import ScriptedProvider

    seat, profile = _one_seat_profile("seat:a")
    long = "x" * 2000
    def ballot(hat, first):
        risks = [{"severity": "low", "title": f"t{i}", "location": f"f{i}.py:1", "detail": long,
                  "recommendation": "r"} for i in range(first, first + 8)]
        verdict = Verdict.model_validate(json.loads(verdict_json("NOT_OK", risks=risks)))
        return Ballot(seat="a", hat=hat, provider="p", model="m", vote="NOT_OK",
                      verdict=verdict)

    ballots = [ballot("tech", 0), ballot("product", 8)]
    raised = raised_findings(ballots)
    provider = ScriptedProvider(seat, {"": [json.dumps({"groups": [["F1", "F2"]]})]})
    purse = Purse(0.02)  # more than the fixed 9,000-token figure ($0.0100), less than the bound
    grouping = asyncio.run(consolidate_with_seat(raised, profile, Prompter(nonce="n"),
                                                 provider=provider, purse=purse))
    assert grouping.groups is None and "not asked" in grouping.by
    assert provider.requests == [] and purse.left_usd == 0.02
    # the bound of that prompt: over 16 x 2,000 bytes of detail
    assert ask_bound_usd(seat, [{"role": "user", "content": long * 16}]) > 0.02


def test_a_cancelled_run_stays_counted(forgejo, loopback, tmp_path):  # noqa: F811
    """Under a pull request budget the run writes down the most it may spend before any model
    is asked; a run cancelled while the seats answer (a push cancels the CI job) leaves that
    row, and the next run counts it (attack round 3: six cancelled runs recorded $0 and the
    budget was passed)."""
    import signal

    from test_fail_closed import canary_while_seats_answer

    config = budget_config(tmp_path, loopback.url, "pull_request_usd = 5.0\n")
    loopback.route("POST", "/v1/chat/completions",
                   lambda seen: Reply(200, openai_body(verdict_json()), delay=20))
    proc = canary_while_seats_answer(forgejo, loopback, config)
    try:
        [decision] = [c for c in ours(forgejo) if "reviewgate:decision" in c["body"]]
        [held] = read_rounds(decision["body"])  # written before the first model call
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=90)
    finally:
        proc.kill()
    assert proc.returncode == 12
    assert held.decision == "reserved" and held.run and 0.1 < held.cost <= 5.0
    assert held.spent == held.cost
    [decision] = [c for c in ours(forgejo) if "reviewgate:decision" in c["body"]]
    assert [r.decision for r in read_rounds(decision["body"])] == ["reserved"]
    # the next run sees it spent, and its own round replaces only its own reservation
    serve_usage(loopback)
    out = tmp_path / "r2.json"
    assert canary(forgejo, config, "--out", str(out)) == 0
    assert json.loads(out.read_text())["budget"]["spent_usd"] == held.cost
    [decision] = [c for c in ours(forgejo) if "reviewgate:decision" in c["body"]]
    rounds = read_rounds(decision["body"])
    assert [r.decision for r in rounds] == ["reserved", "merge"]
    assert abs(rounds[-1].spent - (held.cost + rounds[-1].cost)) < 1e-5


def test_requests_without_an_answer_are_counted_at_their_bound():
    """A ballot or a grouping call that times out got no usage back, but the provider goes on
    and bills it: each is counted at its request's upper bound, never $0 (attack round 4: a
    seat answering after its timeout, and a grouping answer cut at its limit, recorded $0)."""
    import asyncio

    from reviewgate.context.packing import build_context
    from reviewgate.context.prompts import Prompter
    from reviewgate.core.changeset import ChangeSet
    from reviewgate.ensemble.estimate import ask_bound_usd
    from reviewgate.ensemble.fanout import run_review
    from reviewgate.ensemble.questions import AskError, ask_seat
    from reviewgate.ensemble.grouping import Grouping
    from reviewgate.testing import ScriptedProvider

    seat, profile = _one_seat_profile()
    seat = seat.model_copy(update={"timeout_s": 0.3})
    profile = profile.model_copy(update={"seats": [seat]})
    pack = build_context(ChangeSet(title="t", diff="", files=[]), budget_tokens=1000, exclude=[])
    prompter = Prompter(nonce="n")
    provider = ScriptedProvider(seat, {"tech": [5.0, verdict_json("OK")]})
    [ballot] = asyncio.run(run_review(profile, pack, prompter, providers={"a": provider}))
    assert ballot.vote == "ABSTAIN" and "timeout" in ballot.error
    messages = prompter.review_messages(pack, "tech")
    assert ballot.cost_usd == round(ask_bound_usd(seat, messages), 6) > 0

    asked = [{"role": "user", "content": "group these"}]
    slow = ScriptedProvider(seat, {"grouping": [5.0, "{}"]})
    try:
        asyncio.run(ask_seat(seat, asked, Grouping, what="grouping", provider=slow))
    except AskError as exc:
        assert "timeout" in str(exc) and exc.cost_usd == ask_bound_usd(seat, asked) > 0
    else:
        raise AssertionError("a timed-out question answered")


def test_an_override_keeps_the_running_spend(forgejo, loopback, tmp_path):  # noqa: F811
    """An override spends nothing and erases nothing: its history row carries the pull
    request's running total on (attack round 4: with `history_rounds = 1` an override row
    with spent 0 reset the pull request budget)."""
    from reviewgate.forge import make_forge
    from reviewgate.gate.comments import spent_usd
    from reviewgate.gate.override import override_gate

    config = budget_config(tmp_path, loopback.url, "pull_request_usd = 5.0\n")
    serve_usage(loopback, prompt_tokens=20_000)
    assert canary(forgejo, config, "--force") == 0
    [decision] = [c for c in ours(forgejo) if "reviewgate:decision" in c["body"]]
    before = spent_usd(read_rounds(decision["body"]))
    assert before > 0.3
    bot = make_forge("forgejo", url=forgejo.url, repo="owner/repo", token="bot-token")
    override_gate(bot, number=7, config=load_config(config), by="maintainer",
                  reason="checked by hand", sha=HEAD)
    [decision] = [c for c in ours(forgejo) if "reviewgate:decision" in c["body"]]
    rounds = read_rounds(decision["body"])
    assert rounds[-1].decision == "override" and rounds[-1].spent == before
    assert spent_usd(rounds[-1:]) == before  # even if it were the only row kept
