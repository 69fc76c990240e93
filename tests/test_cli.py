"""The CLI end to end against loopback model servers: exit codes, outputs, replay."""

from __future__ import annotations

import json

import pytest
from conftest import DATA
from loopback import Reply
from test_providers_wire import openai_body

from reviewgate.cli import main
from reviewgate.testing import verdict_json

BLOCKER = {"severity": "blocker", "title": "Custom SSL adapters break", "detail": "d",
           "location": "src/requests/adapters.py:80", "recommendation": "r"}


def write_config(tmp_path, url: str, seats=("a", "b", "c")) -> str:
    lines = ['default_profile = "canary"', "[profiles.canary]"]
    for seat in seats:
        lines += ["[[profiles.canary.seats]]", f'name = "{seat}"', 'provider = "openai-compatible"',
                  f'model = "model-{seat}"', f'base_url = "{url}/v1"', "timeout_s = 5",
                  "price_in_per_mtok = 3.0", "price_out_per_mtok = 15.0"]
    path = tmp_path / "reviewgate.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def serve(loopback, answers: dict[tuple[str, str], str]):
    """Answer by (model, hat): the hat is read from the prompt's last section."""
    def handler(seen):
        model = seen.body["model"].removeprefix("model-")
        user = seen.body["messages"][1]["content"]
        hat = "tech" if "Your hat for this ballot: tech" in user else "product"
        return Reply(200, openai_body(answers.get((model, hat), verdict_json("OK"))))
    loopback.route("POST", "/v1/chat/completions", handler)


def review(tmp_path, loopback, answers, *extra, diff="requests-6667-ssl-context"):
    config = write_config(tmp_path, loopback.url)
    serve(loopback, answers)
    out = tmp_path / "decision.json"
    code = main(["review", "--diff", str(DATA / diff / "diff.patch"), "--title", "t",
                 "--config", config, "--out", str(out), *extra])
    return code, json.loads(out.read_text()) if out.exists() else None


def test_merge_exits_0_and_writes_decision_json(tmp_path, loopback, capsys):
    """Six OK ballots: exit 0, markdown with the matrix on stdout, a full decision.json."""
    code, record = review(tmp_path, loopback, {})
    assert code == 0
    out = capsys.readouterr()
    assert "| `a` | ✅ OK 0.80 | ✅ OK 0.80 |" in out.out and "Status: MERGE" in out.out
    assert "[6/6]" in out.err
    assert record["schema_version"] == 1 and len(record["ballots"]) == 6
    assert record["input"]["digest"].startswith("sha256:") and record["config"]["digest"]
    b = record["ballots"][0]
    assert {"seat", "hat", "provider", "model", "vote", "raw", "tokens_in", "tokens_out",
            "latency_s", "error", "cost_usd"} <= set(b)
    assert record["usage"]["cost_usd"] == pytest.approx(6 * (120 * 3 + 40 * 15) / 1e6)


def test_defer_exits_10(tmp_path, loopback):
    """A blocker defers: exit 10."""
    code, record = review(tmp_path, loopback, {("a", "tech"): verdict_json("NOT_OK",
                                                                          risks=[BLOCKER])})
    assert code == 10 and record["decision"]["decision"] == "defer"


def test_split_exits_11_on_oversized_change(tmp_path, loopback):
    """A deferred 1,833-line change is a split: exit 11."""
    code, record = review(tmp_path, loopback, {("a", "tech"): verdict_json("NOT_OK",
                                                                          risks=[BLOCKER])},
                          diff="requests-7272-inline-types")
    assert code == 11 and record["decision"]["decision"] == "split"
    assert record["input"]["omitted"] or record["input"]["cut"]


def test_error_exits_12_below_quorum(tmp_path, loopback, capsys):
    """Two unparseable tech ballots leave tech below quorum: error, exit 12."""
    code, record = review(tmp_path, loopback, {("a", "tech"): "no idea", ("b", "tech"): "{}"})
    assert code == 12 and record["decision"]["state"] == "error"
    assert "Status: ERROR" in capsys.readouterr().out


def test_usage_errors_exit_2(tmp_path, capsys):
    """A missing diff file, a bad config and conflicting inputs exit 2 with a clear message."""
    assert main(["review", "--diff", str(tmp_path / "none.patch")]) == 2
    assert "cannot read diff" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("[profiles.x]\nseats = 3\n")
    assert main(["review", "--diff", "-", "--config", str(bad)]) == 2
    assert "profiles.x.seats" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["review", "--format", "yaml"])
    assert info.value.code == 2


def test_replay_gives_the_same_decision(tmp_path, loopback, capsys):
    """--replay decision.json reproduces the recorded decision without calling a model."""
    code, record = review(tmp_path, loopback, {
        ("a", "tech"): verdict_json("NOT_OK", risks=[BLOCKER]),
        ("b", "product"): "garbage"})
    requests_before = len(loopback.seen)
    loopback.close()
    capsys.readouterr()
    out = tmp_path / "replayed.json"
    assert main(["review", "--replay", str(tmp_path / "decision.json"), "--out", str(out),
                 "--format", "json"]) == code == 10
    replayed = json.loads(out.read_text())
    assert replayed["decision"] == record["decision"]
    assert [b["vote"] for b in replayed["ballots"]] == [b["vote"] for b in record["ballots"]]
    assert replayed["replayed_from"].endswith("decision.json")
    assert len(loopback.seen) == requests_before
    assert json.loads(capsys.readouterr().out)["decision"]["decision"] == "defer"


def test_missing_credentials_abstain_not_fall_back(tmp_path, capsys):
    """A configured hosted seat without its key abstains naming the variable; quorum decides."""
    cfg = tmp_path / "reviewgate.toml"
    cfg.write_text('[[profiles.canary.seats]]\nname = "claude"\nprovider = "anthropic"\n'
                   'model = "m"\n')
    code = main(["review", "--diff", str(DATA / "requests-7328-redirect-history" / "diff.patch"),
                 "--config", str(cfg), "--format", "json"])
    record = json.loads(capsys.readouterr().out)
    assert code == 12
    assert {b["error"] for b in record["ballots"]} == {"missing ANTHROPIC_API_KEY"}


def test_config_check_names_missing_keys_only(tmp_path, capsys, monkeypatch):
    """config check lists credentials by name, never by value, and exits 2 when any is missing."""
    cfg = tmp_path / "reviewgate.toml"
    cfg.write_text('[[profiles.canary.seats]]\nname = "claude"\nprovider = "anthropic"\n'
                   'model = "m"\n[[profiles.canary.seats]]\nname = "gpt"\nprovider = "openai"\n'
                   'model = "m"\n')
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value-123456")
    assert main(["config", "check", "--config", str(cfg)]) == 2
    out = capsys.readouterr().out
    assert "OPENAI_API_KEY present" in out and "ANTHROPIC_API_KEY missing" in out
    assert "sk-secret-value-123456" not in out


def test_git_range_input(tmp_path, loopback, monkeypatch):
    """--git BASE..HEAD reviews a local range; title comes from the head commit."""
    import subprocess
    repo = tmp_path / "repo"
    repo.mkdir()
    def run(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    run("init", "-q")
    run("config", "user.email", "t@example.invalid")
    run("config", "user.name", "t")
    (repo / "app.py").write_text("x = 1\n")
    run("add", ".")
    run("commit", "-qm", "first")
    (repo / "app.py").write_text("x = 2\n")
    run("commit", "-qam", "Change x\n\nBecause.")
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    monkeypatch.chdir(repo)
    out = tmp_path / "d.json"
    assert main(["review", "--git", "HEAD~1..HEAD", "--config", config, "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["input"]["title"] == "Change x" and len(record["input"]["head_sha"]) == 40
