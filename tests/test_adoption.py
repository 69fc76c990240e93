"""Adoption: the composite action, `reviewgate init` and `reviewgate config schema`."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from test_workflows import EVENTS, evaluate, expression

from reviewgate.cli import main
from reviewgate.core.config import load_config

ROOT = Path(__file__).parent.parent


def action() -> dict:
    return yaml.safe_load((ROOT / "action.yml").read_text())


def test_action_shape():
    """A composite action with the documented inputs and outputs, installing from its own
    pinned checkout with uv (its cache on), with the verdict cache, no expression inside a shell
    script."""
    act = action()
    assert act["runs"]["using"] == "composite"
    assert set(act["inputs"]) == {"config", "profile", "forge", "pr", "force"}
    assert {k: v["value"] for k, v in act["outputs"].items()} == {
        name: f"${{{{ steps.gate.outputs.{name} }}}}" for name in ("decision", "state", "url")}
    steps = act["runs"]["steps"]
    uv = next(s for s in steps if s.get("uses", "").startswith("astral-sh/setup-uv@"))
    assert uv["with"]["enable-cache"] == "true" and uv["with"]["activate-environment"] == "true"
    assert any(s.get("with", {}).get("path") == "~/.cache/reviewgate" for s in steps)
    install = next(s for s in steps if "uv pip install" in s.get("run", ""))
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    for step in steps:
        assert "${{" not in step.get("run", "")


def run_gate_step(tmp_path: Path, event: str, **inputs: str) -> list[str]:
    """Run the action's gate script with bash and a stand-in `reviewgate` that records argv."""
    step = next(s for s in action()["runs"]["steps"] if s.get("id") == "gate")
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    fake = bindir / "reviewgate"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path}/argv\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{bindir}:{os.environ['PATH']}", "EVENT_NAME": event,
           "RG_CONFIG": inputs.get("config", "reviewgate.toml"),
           "RG_PROFILE": inputs.get("profile", ""), "RG_FORGE": inputs.get("forge", ""),
           "RG_PR": inputs.get("pr", "7"), "RG_FORCE": inputs.get("force", "false")}
    subprocess.run(["bash", "-c", step["run"]], env=env, check=True)
    return (tmp_path / "argv").read_text().split()


@pytest.mark.parametrize("event,inputs,expected", [
    ("pull_request_target", {}, ["canary", "--config", "reviewgate.toml", "--pr", "7"]),
    ("pull_request_target", {"force": "true", "profile": "deep"},
     ["canary", "--config", "reviewgate.toml", "--profile", "deep", "--force", "--pr", "7"]),
    ("workflow_dispatch", {"pr": "12"},
     ["canary", "--config", "reviewgate.toml", "--force", "--pr", "12"]),
    ("issue_comment", {}, ["command", "--config", "reviewgate.toml"]),
])
def test_action_runs_the_right_command(tmp_path, event, inputs, expected):
    """The action's script picks canary or command and passes the inputs as arguments."""
    assert run_gate_step(tmp_path, event, **inputs) == expected


def test_init_writes_valid_files_and_never_overwrites(tmp_path, capsys):
    """init writes a reviewgate.toml that validates (against the JSON Schema too) and a
    workflow in which no comment joins the pull request's concurrency group; a second init
    exits 2 and changes nothing."""
    assert main(["init", "--forge", "github", "--dir", str(tmp_path)]) == 0
    toml = tmp_path / "reviewgate.toml"
    config = load_config(toml)
    _, profile = config.profile(None)
    assert [s.name for s in profile.seats] == ["claude", "gpt", "glm"]
    assert profile.hats == ["tech", "product"] and profile.policy.quorum == 2
    capsys.readouterr()
    assert main(["config", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    import tomllib
    jsonschema.validate(tomllib.loads(toml.read_text()), schema)
    workflow = yaml.safe_load((tmp_path / ".github/workflows/reviewgate.yml").read_text())
    job = workflow["jobs"]["gate"]
    groups = {e: evaluate(expression(job["concurrency"]["group"]), ctx)
              for e, ctx in EVENTS.items()}
    assert groups["comment: ordinary"] == "reviewgate-comment-903"
    assert groups["push of a pull request"] == "reviewgate-pr-5"
    assert 'pip install "reviewgate-ensemble==' in yaml.safe_dump(job["steps"])
    before = toml.read_text()
    assert main(["init", "--forge", "github", "--dir", str(tmp_path)]) == 2
    assert "not overwriting" in capsys.readouterr().err and toml.read_text() == before


def test_schema_rejects_a_typo():
    """The JSON Schema is strict: an unknown key fails validation (editors flag it)."""
    from reviewgate.core.config import Config
    schema = Config.model_json_schema()
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"default_profil": "x"}, schema)


def test_bash_completion_knows_the_commands(tmp_path, capsys):
    """`reviewgate completion bash` prints a script that bash accepts and that completes the
    subcommands."""
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    for word in ("review", "canary", "gate-status", "eval", "replay", "override", "init"):
        assert word in script
    path = tmp_path / "reviewgate.bash"
    path.write_text(script)
    probe = (f"source {path}; COMP_WORDS=(reviewgate ca); COMP_CWORD=1; "
             "_shtab_reviewgate; echo \"${COMPREPLY[@]}\"")
    out = subprocess.run(["bash", "-c", probe], capture_output=True, text=True)
    assert "canary" in out.stdout.split(), out.stderr


def test_init_writes_an_updater_for_the_pinned_shas_and_never_overwrites(tmp_path, capsys):
    """GitHub: a Dependabot stanza for github-actions; Forgejo: a Renovate config that pins
    digests; an existing updater file is kept untouched."""
    assert main(["init", "--forge", "github", "--dir", str(tmp_path / "gh")]) == 0
    bot = yaml.safe_load((tmp_path / "gh" / ".github" / "dependabot.yml").read_text())
    assert bot["updates"][0]["package-ecosystem"] == "github-actions"
    assert main(["init", "--forge", "forgejo", "--dir", str(tmp_path / "fj")]) == 0
    renovate = json.loads((tmp_path / "fj" / "renovate.json").read_text())
    assert "helpers:pinGitHubActionDigests" in renovate["extends"]
    mine = tmp_path / "own"
    mine.mkdir()
    (mine / ".renovaterc").write_text('{"extends": ["local>acme/renovate"]}')
    capsys.readouterr()
    assert main(["init", "--forge", "forgejo", "--dir", str(mine)]) == 0
    assert (mine / ".renovaterc").read_text() == '{"extends": ["local>acme/renovate"]}'
    assert not (mine / "renovate.json").exists() and "kept" in capsys.readouterr().out
