"""`reviewgate canary`, `gate-status` and `command` against a stateful fake Forgejo whose
traffic is validated against the official OpenAPI document."""

from __future__ import annotations

import json

import pytest
from conftest import DATA
from fake_forgejo import FakeForgejo, FakePR
from test_cli import BLOCKER, serve, write_config

from loopback import Reply
from test_providers_wire import openai_body

from reviewgate.gate import find_command, read_gate, read_rounds
from reviewgate.cli import main
from reviewgate.forge import make_forge
from reviewgate.testing import verdict_json

HEAD = "a" * 40
CONTEXT = "reviewgate/quality-gate"


@pytest.fixture
def forgejo(monkeypatch):
    """A fake Forgejo with pull request #7 (psf/requests#6667's diff); the bot token is set."""
    fake = FakeForgejo()
    diff = (DATA / "requests-6667-ssl-context" / "diff.patch").read_text()
    fake.add_pr(FakePR(number=7, title="Avoid reloading root certificates", body="Perf fix.",
                       diff=diff, head_sha=HEAD,
                       files=[{"filename": "src/requests/adapters.py", "status": "modified",
                               "additions": 28, "deletions": 18, "changes": 46}]))
    monkeypatch.setenv("REVIEWGATE_FORGE_TOKEN", "bot-token")
    yield fake
    fake.close()
    assert fake.violations == []


def canary(fake, config, *extra):
    return main(["canary", "--forge", "forgejo", "--url", fake.url, "--repo", "owner/repo",
                 "--pr", "7", "--config", config, *extra])


def ours(fake, number=7):
    return [c for c in fake.pr_comments(number) if c["user"] == "reviewbot"]


def test_first_run_posts_pending_comments_and_final_status(forgejo, loopback, tmp_path, capsys):
    """pending first, then one comment per seat and a decision comment, then success on HEAD."""
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    assert canary(forgejo, config) == 0
    rows = forgejo.status_rows(HEAD)
    assert [r["status"] for r in rows] == ["pending", "success"]
    assert all(r["context"] == CONTEXT for r in rows)
    assert rows[1]["description"] == "merge · base bbbbbbbbbbbb · Tech: 3/3 OK · Product: 3/3 OK"
    comments = ours(forgejo)
    assert len(comments) == 4
    decision = comments[-1]
    assert "<!-- reviewgate:decision -->" in decision["body"] and "| `a` |" in decision["body"]
    assert rows[1]["target_url"].endswith(f"#issuecomment-{decision['id']}")
    out = capsys.readouterr().out
    assert f"GATE=merge\nSTATE=success\nSHA={HEAD}" in out
    # the pending row came before any model call and before any comment
    first_post = next(i for i, (m, p) in enumerate(forgejo.log) if m == "POST")
    assert "/statuses/" in forgejo.log[first_post][1]


def test_rerun_edits_in_place_with_more_than_50_comments(forgejo, loopback, tmp_path):
    """A forced second run edits the same four comments; others' comments (even one quoting
    our marker) are untouched; the history records both rounds."""
    for i in range(60):
        forgejo.add_comment(7, "alice", f"comment {i}")
    impostor = forgejo.add_comment(7, "mallory", "<!-- reviewgate:decision --> fake decision")
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    assert canary(forgejo, config) == 0
    before = {c["id"] for c in ours(forgejo)}
    total = len(forgejo.pr_comments(7))
    assert total == 61 + 4
    serve(loopback, {("a", "tech"): verdict_json("NOT_OK", risks=[BLOCKER])})
    assert canary(forgejo, config, "--force", "--fired-by", "operator") == 10
    assert len(forgejo.pr_comments(7)) == total
    assert {c["id"] for c in ours(forgejo)} == before
    assert impostor["body"] == "<!-- reviewgate:decision --> fake decision"
    decision = ours(forgejo)[-1]["body"]
    assert "Status: DEFER" in decision and decision.count("| `aaaaaaaaaaaa` |") == 2
    assert "| operator |" in decision
    assert [r["status"] for r in forgejo.status_rows(HEAD)] == ["pending", "success", "pending",
                                                                "failure"]


def test_rerun_without_force_skips_decided_head(forgejo, loopback, tmp_path, capsys):
    """Without --force, a head that already has a final decision is not reviewed again."""
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    assert canary(forgejo, config) == 0
    calls = len(loopback.seen)
    assert canary(forgejo, config) == 0
    assert len(loopback.seen) == calls and len(forgejo.status_rows(HEAD)) == 2
    assert "already has a decision" in capsys.readouterr().out


def test_rerun_reviews_again_after_a_killed_run(forgejo, loopback, tmp_path, capsys):
    """A run killed after its pending claim (SIGKILL) leaves `pending` on top of the decision:
    the next run, without --force, reviews the head again instead of reporting it decided."""
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    assert canary(forgejo, config) == 0
    bot = make_forge("forgejo", url=forgejo.url, repo="owner/repo", token="bot-token")
    bot.set_status(HEAD, state="pending", context=CONTEXT, description="reviewing · run 0badc0de")
    assert canary(forgejo, config) == 0
    assert "already has a decision" not in capsys.readouterr().out
    assert [r["status"] for r in forgejo.status_rows(HEAD)] == [
        "pending", "success", "pending", "pending", "success"]


def test_head_moves_while_the_diff_is_read(forgejo, loopback, tmp_path, capsys):
    """A push between reading the head and reading its diff (issue "Correct under races"): what
    was read may be the new head's diff, so the old head gets `error` ("not reviewed", never a
    pass), nothing is recorded as decided for it, and the new head is reviewed instead."""
    new_head = "c" * 40
    forgejo.on_diff = lambda pr: (pr.move_head(new_head), setattr(forgejo, "on_diff", None))
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    assert canary(forgejo, config) == 0
    old_rows = forgejo.status_rows(HEAD)
    assert [r["status"] for r in old_rows] == ["pending", "error"]
    assert "not reviewed: the head moved" in old_rows[-1]["description"]
    assert [r["status"] for r in forgejo.status_rows(new_head)] == ["pending", "success"]
    assert f"SHA={new_head}" in capsys.readouterr().out
    [decision] = [c for c in ours(forgejo) if "reviewgate:decision" in c["body"]]
    assert [r.head_sha for r in read_rounds(decision["body"])] == [new_head]


def test_push_and_push_back_while_the_diff_is_read(forgejo, loopback, tmp_path):
    """A push and a force-push back within one second while the diff is read (E -> B -> E):
    head, merge base and `updated_at` read the same before and after, yet the diff served was
    B's. The diff is checked against git's trees of E (its `index` blob ids): not E's, so it is
    read again, and only E's own diff reaches the seats."""
    pr = forgejo.prs[7]
    evil = pr.diff
    forgejo.freeze(pr)  # E's trees
    benign = evil.replace("index 84ec48fc..f544f9d5", "index 84ec48fc..0badc0de")
    served = [benign]
    forgejo.on_diff = lambda p: setattr(p, "diff", served.pop(0) if served else evil)
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    assert canary(forgejo, config) == 0
    diffs = [p for m, p in forgejo.log if p.endswith("/pulls/7.diff")]
    assert len(diffs) == 2 and served == []


def test_a_diff_that_is_never_the_heads_is_not_reviewed(forgejo, loopback, tmp_path, capsys):
    """When every read serves a diff that is not the head's (another commit's blobs), nothing
    is reviewed: `error` "not reviewed" on the head, no model called."""
    pr = forgejo.prs[7]
    forgejo.freeze(pr)
    pr.diff = pr.diff.replace("index 84ec48fc..f544f9d5", "index 84ec48fc..0badc0de")
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    assert canary(forgejo, config) == 12
    assert "not reviewed: the diff pull request #7 serves is not aaaaaaaaaaaa's" in \
        capsys.readouterr().err
    assert forgejo.status_rows(HEAD)[-1]["status"] == "error"
    assert loopback.seen == []


def test_head_moves_during_the_review(forgejo, loopback, tmp_path, capsys):
    """A push after the diff was read, during the review: the reviewed head gets its result
    marked stale, the new head gets nothing from this run."""
    new_head = "c" * 40
    config = write_config(tmp_path, loopback.url)

    def handler(seen):
        if forgejo.prs[7].head_sha == HEAD:
            forgejo.prs[7].move_head(new_head)
        return Reply(200, openai_body(verdict_json("OK")))
    loopback.route("POST", "/v1/chat/completions", handler)
    canary(forgejo, config)
    rows = forgejo.status_rows(HEAD)
    assert rows[-1]["description"].startswith("stale: head moved during review")
    assert forgejo.status_rows(new_head) == []
    assert "STALE=" in capsys.readouterr().out
    assert "merge (stale)" in ours(forgejo)[-1]["body"]


def test_status_post_500_is_retried(forgejo, loopback, tmp_path):
    """A 500 on the status POST is retried and the run completes."""
    forgejo.fail_status_posts = 1
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    assert canary(forgejo, config) == 0
    assert [r["status"] for r in forgejo.status_rows(HEAD)] == ["pending", "success"]
    assert sum(1 for m, p in forgejo.log if m == "POST" and "/statuses/" in p) == 3


def test_pull_request_not_found(forgejo, loopback, tmp_path, capsys):
    """An unknown pull request: exit 12, a clear message, nothing posted."""
    config = write_config(tmp_path, loopback.url)
    assert main(["canary", "--forge", "forgejo", "--url", forgejo.url, "--repo", "owner/repo",
                 "--pr", "99", "--config", config]) == 12
    assert "HTTP 404" in capsys.readouterr().err
    assert forgejo.statuses == {} and forgejo.comments == []


def test_token_without_write_access(forgejo, loopback, tmp_path, monkeypatch, capsys):
    """A read-only token cannot set pending: exit 12, the token never shown, comments intact."""
    forgejo.add_comment(7, "alice", "keep me")
    monkeypatch.setenv("REVIEWGATE_FORGE_TOKEN", "readonly-token")
    config = write_config(tmp_path, loopback.url)
    assert canary(forgejo, config) == 12
    err = capsys.readouterr().err
    assert "HTTP 403" in err and "readonly-token" not in err
    assert [c["body"] for c in forgejo.comments] == ["keep me"]


def test_failure_after_pending_posts_error(forgejo, loopback, tmp_path, monkeypatch, capsys):
    """A crash after pending leaves status error with the reason, never pending; the CLI's last
    resort prints one line and exits 12 (no traceback)."""
    import reviewgate.gate.run as canary_mod

    def boom(*args, **kwargs):
        raise RuntimeError("model fleet on fire\nsecond line")
    monkeypatch.setattr(canary_mod, "review_change", boom)
    config = write_config(tmp_path, loopback.url)
    assert canary(forgejo, config) == 12
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: model fleet on fire (please report this)" in err
    assert "Traceback" not in err and "second line" not in err
    rows = forgejo.status_rows(HEAD)
    assert [r["status"] for r in rows] == ["pending", "error"]
    assert "model fleet on fire" in rows[-1]["description"]


def test_labels_swap_between_rounds(forgejo, loopback, tmp_path):
    """Configured labels: the decision's label is added and an earlier round's removed."""
    config = write_config(tmp_path, loopback.url)
    with open(config, "a") as fh:
        fh.write('[gate.labels]\nmerge = "gate/merge"\ndefer = "gate/defer"\n')
    serve(loopback, {})
    canary(forgejo, config)
    def names() -> set[str]:
        return {forgejo.labels[i]["name"] for i in forgejo.issue_labels[7]}
    assert names() == {"gate/merge"}
    serve(loopback, {("b", "product"): verdict_json("NOT_OK", risks=[BLOCKER])})
    canary(forgejo, config, "--force")
    assert names() == {"gate/defer"}


@pytest.mark.parametrize("rows,expected,code", [
    ([("success", "merge · base bbbbbbbbbbbb · Tech: 3/3 OK · Product: 3/3 OK")], "merge", 0),
    ([("success", "merge · base 0123456789ab · Tech: 3/3 OK · Product: 3/3 OK")], "stale", 13),
    ([("success", "merge · Tech: 3/3 OK · Product: 3/3 OK")], "stale", 13),
    ([("failure", "defer · Tech: 1/3 OK · Product: 3/3 OK")], "defer", 14),
    ([("failure", "split · Tech: 1/3 OK · Product: 1/3 OK")], "split", 14),
    ([("error", "reviewgate error: quorum")], "error", 14),
    ([("success", "merge · x"), ("pending", "reviewgate: reviewing")], "pending", 13),
    ([], "missing", 13),
])
def test_gate_status_states(forgejo, tmp_path, capsys, rows, expected, code):
    """gate-status reads the latest row of our context on the current head."""
    forge = make_forge("forgejo", url=forgejo.url, repo="owner/repo", token="bot-token")
    for state, description in rows:
        forge.set_status(HEAD, state=state, context=CONTEXT, description=description)
    forge.set_status(HEAD, state="success", context="other/ci", description="merge")
    assert main(["gate-status", "--forge", "forgejo", "--url", forgejo.url, "--repo",
                 "owner/repo", "--pr", "7"]) == code
    out = capsys.readouterr().out
    assert f"GATE={expected}\nSHA={HEAD}\n" in out


def test_gate_status_ignores_older_head(forgejo, capsys):
    """A success left on an older head SHA is not a pass for the new head."""
    forge = make_forge("forgejo", url=forgejo.url, repo="owner/repo", token="bot-token")
    forge.set_status(HEAD, state="success", context=CONTEXT, description="merge · ok")
    forgejo.prs[7].move_head("d" * 40)
    reading = read_gate(forge, 7, CONTEXT)
    assert reading.gate == "missing" and not reading.passed
    assert main(["gate-status", "--forge", "forgejo", "--url", forgejo.url, "--repo",
                 "owner/repo", "--pr", "7", "--wait", "0.3", "--interval", "0.1"]) == 13
    assert "GATE=missing" in capsys.readouterr().out


def event(fake, user: str, body: str, tmp_path) -> str:
    created = fake._now() if hasattr(fake, "_now") else "2026-11-01T00:00:00Z"
    payload = {"action": "created", "comment": {"body": body, "user": {"login": user},
                                                "created_at": created},
               "issue": {"number": 7, "pull_request": {"url": f"{fake.url}/owner/repo/pulls/7"}},
               "repository": {"full_name": "owner/repo"}}
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return str(path)


def command(fake, config, path):
    return main(["command", "--forge", "forgejo", "--url", fake.url, "--repo", "owner/repo",
                 "--event", path, "--config", config])


def test_canary_command_from_unauthorized_user_is_refused(forgejo, loopback, tmp_path):
    """/canary from a read-only user gets a refusal comment and nothing runs."""
    config = write_config(tmp_path, loopback.url)
    assert command(forgejo, config, event(forgejo, "stranger", "/canary", tmp_path)) == 0
    [refusal] = ours(forgejo)
    assert "@stranger" in refusal["body"] and "write access" in refusal["body"]
    assert forgejo.statuses == {} and loopback.seen == []


def test_canary_command_from_maintainer_fires(forgejo, loopback, tmp_path, capsys):
    """/canary from a user with write access re-fires (forced) and records who fired it."""
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    assert command(forgejo, config, event(forgejo, "maintainer", "please\n/canary\n",
                                          tmp_path)) == 0
    assert [r["status"] for r in forgejo.status_rows(HEAD)] == ["pending", "success"]
    assert "| maintainer |" in ours(forgejo)[-1]["body"]


@pytest.mark.parametrize("body", ["/canaryx", "x /canary", "/canary now please", "`/canary`"])
def test_near_misses_do_nothing(forgejo, loopback, tmp_path, body):
    """Near misses of /canary neither run nor reply."""
    config = write_config(tmp_path, loopback.url)
    assert command(forgejo, config, event(forgejo, "maintainer", body, tmp_path)) == 0
    assert forgejo.comments == [] and forgejo.statuses == {}


def test_command_grammar():
    """/canary alone on a line of a top-level paragraph, optional --force; near misses are
    not commands."""
    assert find_command("/canary").name == "canary"
    assert find_command("hi\n  /canary --force\n").force
    for body in ("/canary-x", "/canary force", "x /canary", "LGTM /canary"):
        assert find_command(body) is None, body


def test_actions_environment_supplies_every_value(forgejo, loopback, tmp_path, monkeypatch):
    """Inside Actions: URL, repo and PR come from the environment and the event payload; the
    decision goes to the step summary and `decision=` to the step outputs."""
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    payload = tmp_path / "event.json"
    payload.write_text(json.dumps({"action": "synchronize", "pull_request": {"number": 7}}))
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs.txt"
    for name, value in {"GITHUB_SERVER_URL": forgejo.url, "GITHUB_REPOSITORY": "owner/repo",
                        "GITHUB_EVENT_PATH": str(payload), "REVIEWGATE_FORGE": "forgejo",
                        "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs),
                        "GITHUB_ACTOR": "alice"}.items():
        monkeypatch.setenv(name, value)
    assert main(["canary", "--config", config]) == 0
    assert "decision=merge\nstate=success\n" in outputs.read_text()
    assert "## Review decision" in summary.read_text()
    assert "| alice |" in ours(forgejo)[-1]["body"]


def test_gate_status_wait_polls_until_final(forgejo, capsys):
    """--wait keeps polling while pending and returns once the final status lands."""
    import threading

    forge = make_forge("forgejo", url=forgejo.url, repo="owner/repo", token="bot-token")
    forge.set_status(HEAD, state="pending", context=CONTEXT, description="reviewing")
    timer = threading.Timer(0.5, lambda: forge.set_status(
        HEAD, state="failure", context=CONTEXT, description="split · Tech: 0/3 OK"))
    timer.start()
    code = main(["gate-status", "--forge", "forgejo", "--url", forgejo.url, "--repo",
                 "owner/repo", "--pr", "7", "--wait", "10", "--interval", "0.1"])
    timer.join()
    assert code == 14 and "GATE=split" in capsys.readouterr().out


def test_agreed_high_finding_defers_and_the_status_names_it(forgejo, loopback, tmp_path):
    """Two seats raise the same high finding while every ballot votes OK: the gate defers, the
    status description names the finding and how many seats raised it, and the decision
    comment's reasons list the raising ballots."""
    high = {"severity": "high", "title": "Custom SSL adapters lose the CA bundle", "detail": "d",
            "location": "src/requests/adapters.py:80", "recommendation": "r"}
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {("a", "tech"): verdict_json("OK", risks=[high]),
                     ("b", "product"): verdict_json("OK", risks=[high])})
    assert canary(forgejo, config) == 10
    row = forgejo.status_rows(HEAD)[-1]
    assert row["status"] == "failure"
    assert row["description"].startswith(
        "defer · base bbbbbbbbbbbb · agreed high: Custom SSL adapters lose the CA bundle "
        "(2 seats)")
    [decision] = [c for c in ours(forgejo) if "reviewgate:decision" in c["body"]]
    assert "(product-b, tech-a)" in decision["body"]
