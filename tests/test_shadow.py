"""``reviewgate replay``: stored ballots decided again under another policy, no model called."""

from __future__ import annotations

import json
import shutil

from conftest import DATA
from test_cli import BLOCKER, review

from reviewgate.cli import main
from reviewgate.testing import verdict_json


def policy_config(tmp_path, **policy) -> str:
    lines = ["[profiles.canary]", "[[profiles.canary.seats]]", 'name = "a"',
             'provider = "openai-compatible"', 'model = "m"', "[profiles.canary.policy]"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in policy.items()]
    path = tmp_path / "other.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def recorded(tmp_path, loopback, answers, name="decision.json"):
    code, _ = review(tmp_path, loopback, answers)
    target = tmp_path / "runs" / name
    target.parent.mkdir(exist_ok=True)
    shutil.move(tmp_path / "decision.json", target)
    return code, target


def test_single_blocker_flips_under_corroborated_policy(tmp_path, loopback, capsys):
    """A lone blocker deferred the run; with blockers = "corroborated" it would merge. Exit 10
    (a flip), the new reason and the removed one are shown, and no model is called."""
    code, path = recorded(tmp_path, loopback,
                          {("a", "tech"): verdict_json("OK", risks=[BLOCKER])})
    assert code == 10
    calls = len(loopback.seen)
    capsys.readouterr()
    assert main(["replay", str(path), "--config", policy_config(
        tmp_path, blockers="corroborated"), "--profile", "canary"]) == 10
    out = capsys.readouterr().out
    assert "Recorded: **defer**" in out and "**merge** (flips)" in out
    assert "Reasons that no longer hold:" in out and "blocker finding" in out
    assert len(loopback.seen) == calls


def test_same_policy_changes_nothing(tmp_path, loopback, capsys):
    """Without --config the recorded policy is used: the same decision, exit 0."""
    _, path = recorded(tmp_path, loopback, {})
    capsys.readouterr()
    assert main(["replay", str(path), "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["before"], row["after"], row["flipped"]) == ("merge", "merge", False)


def test_folder_prints_the_table_of_flips(tmp_path, loopback, capsys):
    """Over a folder: one row per decision.json and the count of flips (quorum raised to 4)."""
    recorded(tmp_path, loopback, {}, "one.json")
    recorded(tmp_path, loopback, {("a", "tech"): verdict_json("OK", risks=[BLOCKER])},
             "two.json")
    capsys.readouterr()
    assert main(["replay", str(tmp_path / "runs"), "--config",
                 policy_config(tmp_path, quorum=4), "--profile", "canary"]) == 10
    out = capsys.readouterr().out
    assert "2 decisions, 2 would flip" in out
    assert out.count("| error | **yes** |") == 2


def test_agreement_rule_flips_recorded_merges(tmp_path, loopback, capsys):
    """Runs decided before the agreement rule (defer_on_corroborated = "blocker"): the one where
    two seats raised the same high finding flips to defer under the new default; the clean one
    does not. Exit 10 for the folder (a flip), no model called."""
    from test_cli import serve, write_config

    high = {"severity": "high", "title": "Custom SSL adapters lose the CA bundle", "detail": "d",
            "location": "src/requests/adapters.py:80", "recommendation": "r"}
    runs = tmp_path / "runs"
    runs.mkdir()
    for name, answers in (("clean.json", {}),
                          ("agreed.json", {("a", "tech"): verdict_json("OK", risks=[high]),
                                           ("b", "tech"): verdict_json("OK", risks=[high])})):
        config = write_config(tmp_path, loopback.url)
        with open(config, "a") as fh:
            fh.write('[profiles.canary.policy]\ndefer_on_corroborated = "blocker"\n')
        serve(loopback, answers)
        assert main(["review", "--diff", str(DATA / "requests-6667-ssl-context" / "diff.patch"),
                     "--title", "t", "--config", config, "--out", str(runs / name),
                     "--no-cache"]) == 0
    calls = len(loopback.seen)
    capsys.readouterr()
    assert main(["replay", str(runs), "--config", policy_config(tmp_path), "--profile", "canary",
                 "--format", "json"]) == 10
    rows = {r["source"].rsplit("/", 1)[-1]: r for r in json.loads(capsys.readouterr().out)}
    assert (rows["agreed.json"]["before"], rows["agreed.json"]["after"]) == ("merge", "defer")
    assert rows["agreed.json"]["flipped"] and not rows["clean.json"]["flipped"]
    assert any("two or more seats agree on" in r for r in rows["agreed.json"]["reasons_added"])
    assert len(loopback.seen) == calls
