"""Audited override: `/canary override <reason>` and `reviewgate override` set success on the
current head with who and why, recorded in the history, never carried to a new head."""

from __future__ import annotations

from test_canary import CONTEXT, HEAD, canary, command, event, forgejo, ours  # noqa: F401
from test_cli import BLOCKER, serve, write_config

from reviewgate.canary import read_gate, read_rounds
from reviewgate.cli import main
from reviewgate.forge import make_forge
from reviewgate.testing import verdict_json


def gate_status(fake) -> int:
    return main(["gate-status", "--forge", "forgejo", "--url", fake.url, "--repo",
                 "owner/repo", "--pr", "7"])


def test_override_by_maintainer_passes_this_head_only(forgejo, loopback, tmp_path,  # noqa: F811
                                                      capsys):
    """After a defer, a maintainer's override sets success "override by maintainer: reason",
    the decision comment's history records it, gate-status passes and says so; a push makes
    the gate missing again."""
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {("a", "tech"): verdict_json("NOT_OK", risks=[BLOCKER])})
    assert canary(forgejo, config) == 10
    path = event(forgejo, "maintainer",
                 "/canary override providers are down; reviewed by hand", tmp_path)
    assert command(forgejo, config, path) == 0
    row = forgejo.status_rows(HEAD)[-1]
    assert row["status"] == "success"
    assert row["description"] == "override by maintainer: providers are down; reviewed by hand"
    [decision] = [c for c in ours(forgejo) if "reviewgate:decision" in c["body"]]
    rounds = read_rounds(decision["body"])
    assert [(r.decision, r.fired_by) for r in rounds] == [("defer", "ci"),
                                                           ("override", "maintainer")]
    assert "Override by @\u200bmaintainer" in decision["body"]
    capsys.readouterr()
    assert gate_status(forgejo) == 0
    assert "OVERRIDE=override by maintainer" in capsys.readouterr().out
    forgejo.prs[7].move_head("d" * 40)
    bot = make_forge("forgejo", url=forgejo.url, repo="owner/repo", token="bot-token")
    assert read_gate(bot, 7, CONTEXT).gate == "missing"


def test_override_refused_without_write_access(forgejo, loopback, tmp_path):  # noqa: F811
    """A read-only user's override gets a short refusal and changes no status."""
    config = write_config(tmp_path, loopback.url)
    path = event(forgejo, "stranger", "/canary override trust me", tmp_path)
    assert command(forgejo, config, path) == 0
    assert forgejo.status_rows(HEAD) == []
    [refusal] = ours(forgejo)
    assert "`/canary override` can only be used by users with write access" in refusal["body"]


def test_cli_override_needs_a_reason_and_records_the_operator(forgejo, loopback,  # noqa: F811
                                                              tmp_path, capsys):
    """`reviewgate override --pr 7 --reason ...` posts the override as the token's user."""
    config = write_config(tmp_path, loopback.url)
    args = ["override", "--forge", "forgejo", "--url", forgejo.url, "--repo", "owner/repo",
            "--pr", "7", "--config", config]
    assert main([*args, "--reason", "  "]) == 2
    assert main([*args, "--reason", "hotfix for the outage @team"]) == 0
    row = forgejo.status_rows(HEAD)[-1]
    assert row["status"] == "success" and row["description"].startswith("override by reviewbot")
    assert "@team" not in row["description"]  # mentions defused
