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


def init_workflow(forge: str):
    """The workflow `reviewgate init --forge FORGE` writes (rendered as the command does)."""
    def load() -> dict:
        from reviewgate.context.prompts import Prompter

        text = Prompter().render("init/workflow.yml.j2", forge=forge, version="0.0.0",
                                 runner="docker", token_secret="REVIEWGATE_BOT_TOKEN")
        return yaml.safe_load(text)
    return load


WORKFLOWS = {"forgejo": forgejo_workflow, "github": github_workflow,
             "init-forgejo": init_workflow("forgejo"), "init-github": init_workflow("github")}


@pytest.mark.parametrize("name", WORKFLOWS)
def test_events(name):
    """pull_request_target (opened, synchronize, reopened, and edited for a retarget),
    workflow_dispatch with pr, comments."""
    wf = WORKFLOWS[name]()
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` key as True
    assert set(on["pull_request_target"]["types"]) == {"opened", "synchronize", "reopened",
                                                       "edited"}
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
    gate = next(s for s in steps if "reviewgate canary" in s.get("run", "")
                or s.get("uses") == "./")
    assert "secrets." in gate["env"]["REVIEWGATE_FORGE_TOKEN"]
    if gate.get("uses") == "./":  # the repository's own composite action (action.yml)
        assert set(gate["with"]) <= set(yaml.safe_load((ROOT / "action.yml").read_text())[
            "inputs"])
        return
    assert "reviewgate command" in gate["run"]
    assert "${{" not in gate["run"]  # no expression interpolated into the shell script


# --- concurrency: only runs that will review claim the pull request's group -------------------

_TOKEN = re.compile(r"\s*(\|\||&&|!=|==|\(|\)|,|!|'[^']*'|[A-Za-z_][\w.-]*)")


def evaluate(expr: str, ctx: dict):
    """A small evaluator of the Actions expression syntax the workflows use: literals, dotted
    context paths, !, ==, !=, &&, ||, parentheses, contains() and format()."""
    tokens = _TOKEN.findall(expr.strip())
    assert "".join(tokens).replace(" ", "") == expr.replace(" ", "").replace("\n", ""), expr
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def primary():
        tok = take()
        if tok == "(":
            value = or_()
            assert take() == ")"
            return value
        if tok == "!":
            return not primary()
        if tok.startswith("'"):
            return tok[1:-1]
        if peek() == "(":
            take()
            args = [or_()]
            while peek() == ",":
                take()
                args.append(or_())
            assert take() == ")"
            if tok == "contains":
                return str(args[1]).lower() in str(args[0] or "").lower()
            if tok == "format":
                return re.sub(r"\{(\d+)\}", lambda m: str(args[int(m.group(1)) + 1]), args[0])
            raise AssertionError(f"unknown function {tok}")
        value = ctx
        for part in tok.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def compare():
        left = primary()
        while peek() in ("==", "!="):
            op, right = take(), primary()
            left = (left == right) if op == "==" else (left != right)
        return left

    def and_():
        left = compare()
        while peek() == "&&":
            take()
            right = compare()
            left = right if left else left
        return left

    def or_():
        left = and_()
        while peek() == "||":
            take()
            right = and_()
            left = left if left else right
        return left

    return or_()


def expression(text: str) -> str:
    text = text.strip()
    return text[3:-2] if text.startswith("${{") else text


def _comment(run_id: int, body: str, login: str = "stranger") -> dict:
    return {"github": {"event_name": "issue_comment", "run_id": run_id, "event": {
        "issue": {"number": 5, "pull_request": {"url": "u"}},
        "comment": {"body": body, "user": {"login": login}}}}}


#: Comments from anyone, exact commands or not: none may share the pull request's group.
COMMENTS = {
    "/canary": _comment(902, "/canary", "maintainer"),
    "ordinary": _comment(903, "LGTM!"),
    "mention": _comment(905, "please don't /canary this yet"),
    "suffix": _comment(906, "LGTM /canary"),
    "quoted override": _comment(907, "```\n/canary override ship it\n```", "maintainer"),
    "stranger's /canary": _comment(908, "/canary"),
}
def _edited(run_id: int, changes: dict) -> dict:
    return {"github": {"event_name": "pull_request_target", "run_id": run_id, "event": {
        "action": "edited", "pull_request": {"number": 5}, "changes": changes}}}


#: Edits of a pull request: only a new base (GitHub `changes.base`, Forgejo/Gitea
#: `changes.ref`) is reviewed; none shares the pull request's group.
EDITS = {
    "retarget (github)": _edited(911, {"base": {"ref": {"from": "dev"}}}),
    "retarget (forgejo)": _edited(912, {"ref": {"from": "main"}}),
    "body edit": _edited(913, {"body": {"from": "old text /canary"}}),
    "title edit": _edited(914, {"title": {"from": "old"}}),
}
EVENTS = {
    "push of a pull request": {"github": {"event_name": "pull_request_target", "run_id": 901,
                                          "event": {"action": "synchronize",
                                                    "pull_request": {"number": 5}}}},
    "manual re-fire": {"github": {"event_name": "workflow_dispatch", "run_id": 904,
                                  "event": {}}, "inputs": {"pr": "5"}},
    **{f"comment: {k}": v for k, v in COMMENTS.items()},
    **{f"edit: {k}": v for k, v in EDITS.items()},
}


@pytest.mark.parametrize("name", WORKFLOWS)
def test_no_comment_touches_a_running_gate(name):
    """No comment, whoever writes it and whatever it says, shares the pull request's group
    (so none cancels, displaces or delays a run); a push and a manual re-fire of PR 5 share
    one group and cancel the older run of it."""
    wf = WORKFLOWS[name]()
    assert "concurrency" not in wf, "workflow-level concurrency cancels on every event"
    job = wf["jobs"]["gate"]
    groups = {event: evaluate(expression(job["concurrency"]["group"]), ctx)
              for event, ctx in EVENTS.items()}
    assert job["concurrency"]["cancel-in-progress"] is True
    assert groups["push of a pull request"] == groups["manual re-fire"] == "reviewgate-pr-5"
    for event, ctx in COMMENTS.items():
        assert groups[f"comment: {event}"] == f"reviewgate-comment-{ctx['github']['run_id']}"
    runs = {event: bool(evaluate(job["if"], ctx)) for event, ctx in EVENTS.items()}
    assert runs["push of a pull request"] and runs["manual re-fire"]
    assert not runs["comment: ordinary"]
    assert runs["edit: retarget (github)"] and runs["edit: retarget (forgejo)"]
    assert not runs["edit: body edit"] and not runs["edit: title edit"]
    for event, ctx in EDITS.items():  # a body edit can never cancel a retarget's review
        assert groups[f"edit: {event}"] == f"reviewgate-base-{ctx['github']['run_id']}"


# --- zizmor over every shipped and generated workflow -------------------------------------------

import shutil  # noqa: E402
import subprocess  # noqa: E402

CHECK = ROOT / ".ci" / "zizmor-check"


def _zizmor(*extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(CHECK), *extra], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.skipif(shutil.which("zizmor") is None, reason="zizmor (test extra) not installed")
def test_zizmor_passes_and_fails_on_a_planted_finding(tmp_path):
    """The shipped action and workflows and both `init` workflows pass zizmor offline; a
    workflow with a movable tag, or an inline ignore without a reason, makes the check fail."""
    clean = _zizmor()
    assert clean.returncode == 0, clean.stdout + clean.stderr
    planted = tmp_path / "planted.yml"
    planted.write_text("name: planted\non: [push]\npermissions: {}\njobs:\n  x:\n"
                       "    runs-on: ubuntu-latest\n    permissions: {}\n    steps:\n"
                       "      - uses: actions/checkout@v4\n        with:\n"
                       "          persist-credentials: false\n")
    found = _zizmor(str(planted))
    assert found.returncode != 0 and "unpinned-uses" in found.stdout + found.stderr
    bare = tmp_path / "bare.yml"
    bare.write_text("name: bare\non:\n"
                    "  pull_request_target:  # zizmor: ignore[dangerous-triggers]\n"
                    "permissions: {}\njobs:\n  x:\n    runs-on: ubuntu-latest\n"
                    "    permissions: {}\n    steps:\n      - run: echo hi\n")
    unexplained = _zizmor(str(bare))
    assert unexplained.returncode != 0 and "gives no reason" in unexplained.stderr


@pytest.mark.parametrize("name", WORKFLOWS)
def test_every_action_is_pinned_to_a_commit(name):
    """Every `uses:` of a remote action names a full 40-hex commit SHA."""
    wf = WORKFLOWS[name]()
    for job in wf["jobs"].values():
        for step in job["steps"]:
            uses = step.get("uses", "")
            if uses and not uses.startswith("./"):
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", uses), uses


#: A merge queue's request for checks on a group commit.
MERGE_GROUP = {"github": {"event_name": "merge_group", "run_id": 921, "event": {
    "action": "checks_requested", "merge_group": {
        "head_sha": "f" * 40, "head_ref": "refs/heads/gh-readonly-queue/main/pr-5-" + "a" * 40,
        "base_ref": "refs/heads/main"}}}}


@pytest.mark.parametrize("name", ["github", "init-github"])
def test_merge_groups_get_a_job_without_models(name):
    """GitHub workflows answer a merge queue (`merge_group`, `checks_requested`) in a job of
    their own: no model key, least permissions (statuses: write), the same token as the pull
    request runs, a concurrency group per group commit; the review job does not run then."""
    wf = WORKFLOWS[name]()
    on = wf.get("on", wf.get(True))
    assert on["merge_group"]["types"] == ["checks_requested"]
    gate, queue = wf["jobs"]["gate"], wf["jobs"]["queue"]
    assert not evaluate(gate["if"], MERGE_GROUP) and evaluate(queue["if"], MERGE_GROUP)
    assert not evaluate(queue["if"], EVENTS["push of a pull request"])
    assert queue["permissions"] == {"contents": "read", "statuses": "write",
                                    "pull-requests": "read"}
    text = yaml.safe_dump(queue)
    assert "API_KEY" not in text

    def token(job):
        return next(s["env"]["REVIEWGATE_FORGE_TOKEN"] for s in job["steps"]
                    if "REVIEWGATE_FORGE_TOKEN" in s.get("env", {}))
    assert token(queue) == token(gate)  # the same identity: the check's expected source
    group = evaluate(expression(queue["concurrency"]["group"]), MERGE_GROUP)
    assert group == "reviewgate-queue-" + "f" * 40
    assert queue["concurrency"]["cancel-in-progress"] is False
