"""The shipped Forgejo workflow and the documented GitHub one: valid YAML, the right events,
and no step that checks out or runs the pull request's code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent


def forgejo_workflow() -> dict:
    return yaml.safe_load((ROOT / ".forgejo" / "workflows" / "reviewgate.yml").read_text())


def github_workflow() -> dict:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- github-workflow -->\n```yaml\n(.*?)```", readme, re.DOTALL)
    assert block, "README lost its GitHub workflow block"
    return yaml.safe_load(block.group(1))


WORKFLOWS = {"forgejo": forgejo_workflow, "github": github_workflow}


@pytest.mark.parametrize("name", WORKFLOWS)
def test_events(name):
    """pull_request_target (opened, synchronize, reopened), workflow_dispatch with pr, comments."""
    wf = WORKFLOWS[name]()
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` key as True
    assert set(on["pull_request_target"]["types"]) == {"opened", "synchronize", "reopened"}
    assert "pr" in on["workflow_dispatch"]["inputs"]
    assert on["issue_comment"]["types"] == ["created"]


@pytest.mark.parametrize("name", WORKFLOWS)
def test_never_checks_out_the_pull_request(name):
    """No step checks out the head (ref, sha or refs/pull) or runs code from it."""
    wf = WORKFLOWS[name]()
    steps = [s for job in wf["jobs"].values() for s in job["steps"]]
    text = yaml.safe_dump(steps)
    assert "pull_request.head" not in text and "refs/pull" not in text
    assert "github.head_ref" not in text
    for step in steps:
        if "checkout" in step.get("uses", ""):
            ref = step.get("with", {}).get("ref", "")
            assert ref == "${{ github.event.repository.default_branch }}"
            assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("name", WORKFLOWS)
def test_runs_the_gate_with_secrets_from_env(name):
    """The gate runs with the token and keys from secrets, and user input only via env."""
    wf = WORKFLOWS[name]()
    steps = [s for job in wf["jobs"].values() for s in job["steps"]]
    gate = next(s for s in steps if "reviewgate canary" in s.get("run", ""))
    assert "secrets." in gate["env"]["REVIEWGATE_FORGE_TOKEN"]
    assert "reviewgate command" in gate["run"]
    assert "${{" not in gate["run"]  # no expression interpolated into the shell script
