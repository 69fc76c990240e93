"""Audited override: `/canary override <reason>` and `reviewgate override` set success on the
current head with who and why, recorded in the history, never carried to a new head."""

from __future__ import annotations

from test_canary import CONTEXT, HEAD, canary, command, event, forgejo, ours  # noqa: F401
from test_cli import BLOCKER, serve, write_config

from reviewgate.gate import read_gate, read_rounds
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
                 f"/canary override --sha {HEAD} providers are down; reviewed by hand",
                 tmp_path)
    assert command(forgejo, config, path) == 0
    row = forgejo.status_rows(HEAD)[-1]
    assert row["status"] == "success"
    assert row["description"] == ("override by maintainer on aaaaaaaaaaaa, base bbbbbbbbbbbb: "
                                  "providers are down; reviewed by hand")
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
    assert main([*args, "--reason", "hotfix for the outage @team", "--sha", HEAD]) == 0
    row = forgejo.status_rows(HEAD)[-1]
    assert row["status"] == "success" and row["description"].startswith(
        "override by reviewbot on aaaaaaaaaaaa, base bbbbbbbbbbbb:")
    assert "@team" not in row["description"]  # mentions defused


# --- adversarial: only an exact command, from a writer, on the head they saw ----------------

import pytest  # noqa: E402

QUOTED = {
    "backtick fence": "Example:\n```\n/canary override ship it\n```\n",
    "tilde fence": "~~~\n/canary override ship it\n~~~",
    "indented code": "Use this:\n\n    /canary override ship it\n",
    "block quote": "> /canary override ship it",
    "inline code": "`/canary override ship it`",
    "list item": "- /canary override ship it",
    "html block": "<details>\n/canary override ship it\n</details>",
    "mid-sentence": "we could /canary override ship it later",
}


@pytest.mark.parametrize("where", QUOTED)
def test_quoted_override_from_a_writer_does_nothing(forgejo, loopback, tmp_path,  # noqa: F811
                                                    where):
    """An override shown as an example (code block, quote, inline code...) is not a command:
    no status, no comment, no model call."""
    config = write_config(tmp_path, loopback.url)
    path = event(forgejo, "maintainer", QUOTED[where], tmp_path)
    assert command(forgejo, config, path) == 0
    assert forgejo.statuses == {} and ours(forgejo) == []
    assert loopback.seen == []


def test_cli_override_acts_as_the_tokens_user(forgejo, loopback, tmp_path,  # noqa: F811
                                              monkeypatch, capsys):
    """`reviewgate override` records the token's own login, never GITHUB_ACTOR; a read-only
    token's override exits 2 and posts nothing."""
    config = write_config(tmp_path, loopback.url)
    args = ["override", "--forge", "forgejo", "--url", forgejo.url, "--repo", "owner/repo",
            "--pr", "7", "--config", config, "--reason", "hotfix", "--sha", HEAD]
    monkeypatch.setenv("GITHUB_ACTOR", "alice")
    assert main(args) == 0
    assert forgejo.status_rows(HEAD)[-1]["description"] == \
        "override by reviewbot on aaaaaaaaaaaa, base bbbbbbbbbbbb: hotfix"
    monkeypatch.setenv("REVIEWGATE_FORGE_TOKEN", "readonly-token")
    before = len(forgejo.status_rows(HEAD))
    assert main(args) == 2
    assert "override needs write access" in capsys.readouterr().err
    assert len(forgejo.status_rows(HEAD)) == before


def test_cli_override_is_bound_to_the_named_sha(forgejo, loopback, tmp_path,  # noqa: F811
                                                capsys):
    """`--sha` names the head the operator reviewed: another head is refused (exit 2)."""
    config = write_config(tmp_path, loopback.url)
    args = ["override", "--forge", "forgejo", "--url", forgejo.url, "--repo", "owner/repo",
            "--pr", "7", "--config", config, "--reason", "checked by hand"]
    forgejo.prs[7].move_head("d" * 40)
    assert main([*args, "--sha", HEAD]) == 2
    assert "the head is now dddddddddddd" in capsys.readouterr().err
    assert forgejo.status_rows("d" * 40) == [] and forgejo.status_rows(HEAD) == []
    with pytest.raises(SystemExit):  # a short SHA could be matched by a crafted commit
        main([*args, "--sha", "ddddddd"])
    assert "the full head SHA" in capsys.readouterr().err
    assert main([*args, "--sha", "d" * 40]) == 0
    assert forgejo.status_rows("d" * 40)[-1]["status"] == "success"


def test_comment_override_refused_when_the_head_moved(forgejo, loopback, tmp_path):  # noqa: F811
    """An override naming the head before a push is not applied to the new head; naming the
    new head (its full SHA) is."""
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {("a", "tech"): verdict_json("NOT_OK", risks=[BLOCKER])})
    assert canary(forgejo, config) == 10
    path = event(forgejo, "maintainer", f"/canary override --sha {HEAD} reviewed by hand",
                 tmp_path)
    new = "e" * 40
    forgejo.prs[7].move_head(new)
    assert canary(forgejo, config) == 10  # the gate reviews the new head (defer)
    assert command(forgejo, config, path) == 0
    assert [r["status"] for r in forgejo.status_rows(new)] == ["pending", "failure"]
    refusal = [c for c in ours(forgejo) if "reviewgate:refusal" in c["body"]]
    assert len(refusal) == 1 and "the head is now eeeeeeeeeeee" in refusal[0]["body"]
    path = event(forgejo, "maintainer", f"/canary override --sha {new} reviewed by hand",
                 tmp_path)
    assert command(forgejo, config, path) == 0
    assert forgejo.status_rows(new)[-1]["status"] == "success"


@pytest.mark.parametrize("text", ["/canary override reviewed by hand",
                                  "/canary override --sha aaaaaaa reviewed by hand",
                                  "/canary override --sha aaaaaaaaaaaa reviewed by hand"])
def test_comment_override_needs_the_full_head_sha(forgejo, loopback, tmp_path,  # noqa: F811
                                                  text):
    """Issue "Nothing merges unseen", case 5: the author's head H_evil was deferred, H_good
    ended in error; a maintainer looking at H_good writes an override without the head (or a
    prefix a crafted commit can share), and the author force-pushes back to H_evil before the
    command job runs. The override must not land on H_evil: it is refused, with the exact
    command for the current head, and no status is posted."""
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {("a", "tech"): verdict_json("NOT_OK", risks=[BLOCKER])})
    assert canary(forgejo, config) == 10  # H_evil (HEAD) deferred
    good = "9" * 40
    forgejo.prs[7].move_head(good)
    bot = make_forge("forgejo", url=forgejo.url, repo="owner/repo", token="bot-token")
    bot.set_status(good, state="error", context=CONTEXT, description="reviewgate error: x")
    path = event(forgejo, "maintainer", text, tmp_path)
    forgejo.prs[7].move_head(HEAD)  # force-push back to H_evil
    before = len(forgejo.status_rows(HEAD))
    assert command(forgejo, config, path) == 0
    assert len(forgejo.status_rows(HEAD)) == before
    assert read_gate(bot, 7, CONTEXT).gate == "defer"
    [refusal] = [c for c in ours(forgejo) if "reviewgate:refusal" in c["body"]]
    assert f"/canary override --sha {HEAD}" in refusal["body"] or "full SHA" in refusal["body"]


def test_failed_override_leaves_nothing_that_reads_as_done(forgejo, loopback,  # noqa: F811
                                                           tmp_path):
    """When every status POST fails, the override exits 12 and neither the decision comment
    nor its round history mentions an override."""
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {("a", "tech"): verdict_json("NOT_OK", risks=[BLOCKER])})
    assert canary(forgejo, config) == 10
    before = {c["id"]: c["body"] for c in ours(forgejo)}
    forgejo.fail_status_posts = 99
    args = ["override", "--forge", "forgejo", "--url", forgejo.url, "--repo", "owner/repo",
            "--pr", "7", "--config", config, "--reason", "providers down", "--sha", HEAD]
    assert main(args) == 12
    assert {c["id"]: c["body"] for c in ours(forgejo)} == before
    [decision] = [c for c in ours(forgejo) if "reviewgate:decision" in c["body"]]
    assert [r.decision for r in read_rounds(decision["body"])] == ["defer"]


def test_repeated_refusals_post_one_comment_per_user(forgejo, loopback, tmp_path):  # noqa: F811
    """A read-only user's repeated /canary gets one refusal comment, edited (not duplicated)
    when the head moves: the bot cannot be made to post without limit."""
    config = write_config(tmp_path, loopback.url)
    for _ in range(5):
        assert command(forgejo, config, event(forgejo, "stranger", "/canary", tmp_path)) == 0
    assert len(ours(forgejo)) == 1
    forgejo.prs[7].move_head("f" * 40)
    for _ in range(3):
        assert command(forgejo, config, event(forgejo, "stranger", "/canary", tmp_path)) == 0
    [refusal] = ours(forgejo)
    assert "f" * 40 in refusal["body"] and "write access" in refusal["body"]
    assert forgejo.statuses == {} and loopback.seen == []
