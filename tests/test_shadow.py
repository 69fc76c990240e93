"""``reviewgate replay``: stored ballots decided again under another policy, no model called."""

from __future__ import annotations

import json
import shutil

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
