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
    calls = len(loopback.seen)
    assert canary(forgejo, config, "--force") == 12
    assert len(loopback.seen) == calls
    err = capsys.readouterr().err
    assert "left of the $" in err and "pull request budget" in err and "spent)" in err


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
    assert typical is not None and 0.3 < typical < 1.0


def test_config_check_prints_the_budgets(loopback, tmp_path, capsys):
    """`config check` says what a typical round costs at most and what the budgets do."""
    path = budget_config(tmp_path, loopback.url, "run_usd = 0.10\n")
    main(["config", "check", "--config", path])
    out = capsys.readouterr().out
    assert "typical round: at most $0." in out
    assert "budget: run $0.10; over it: no model call and status error" in out
    assert "note: a typical round ($0." in out and "is over the run budget" in out
