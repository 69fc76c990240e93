"""Correct under races and misbehaving neighbours (issue "Correct under races"): an override that
lands during a review, a verbose seat against GitHub's comment limit, outputs that must agree
with the status, forges' own time stamps, a review the forge refuses. The push between two reads
is in ``test_canary.py`` (head bound by git's trees)."""

from __future__ import annotations

import datetime as dt
import json

from fake_forgejo import FakeForgejo
from fake_github import FakeGitHub
from loopback import Reply
from test_canary import CONTEXT, HEAD, canary, forgejo, ours  # noqa: F401 - the fixture
from test_cli import BLOCKER, serve, write_config
from test_inline_rounds import HIGH, HIGH_B, LOW, _answers
from test_providers_wire import openai_body

from reviewgate.cli import main
from reviewgate.core.config import load_config
from reviewgate.forge import make_forge
from reviewgate.forge.base import StatusRow
from reviewgate.gate import override_gate, read_gate, read_rounds
from reviewgate.gate.status import latest_row
from reviewgate.testing import verdict_json


def test_an_override_during_a_review_is_kept(forgejo, loopback, tmp_path):  # noqa: F811
    """A run that started before a maintainer's override writes back the round history it read
    at its start: the override's row must stay (records merge, never overwrite), and the run's
    own status must not bury the override's success on that head."""
    config = write_config(tmp_path, loopback.url)
    serve(loopback, {})
    assert canary(forgejo, config) == 0  # an earlier round
    bot = make_forge("forgejo", url=forgejo.url, repo="owner/repo", token="bot-token")
    done = []

    def answer(seen):
        if not done:  # the maintainer overrides while the seats are still answering
            done.append(override_gate(bot, number=7, config=load_config(config),
                                      by="maintainer", reason="reviewed by hand", sha=HEAD))
        return Reply(200, openai_body(verdict_json("NOT_OK", risks=[BLOCKER])))
    loopback.route("POST", "/v1/chat/completions", answer)
    assert canary(forgejo, config, "--force") == 10
    [decision] = [c for c in ours(forgejo) if "reviewgate:decision" in c["body"]]
    assert [r.decision for r in read_rounds(decision["body"])] == ["merge", "override",
                                                                    "defer"]
    rows = forgejo.status_rows(HEAD)
    assert rows[-1]["status"] == "success" and rows[-1]["description"].startswith(
        "override by maintainer on ")
    assert read_gate(bot, 7, CONTEXT).override


def test_a_verbose_seat_fits_githubs_comment_limit(loopback, tmp_path, monkeypatch):
    """GitHub refuses a comment over 65,536 characters (422). A verbose seat (8 risks with
    long details, in both hats) is cut to fit with a pointer to the full text; the run decides
    and posts its status instead of failing the same way on every re-run."""
    from conftest import DATA
    diff = (DATA / "requests-6667-ssl-context" / "diff.patch").read_text()
    fake = FakeGitHub(diff, HEAD, [{"filename": "src/requests/adapters.py",
                                    "status": "modified", "additions": 28, "deletions": 18}])
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_actions_token_123456")
    long_risk = {"severity": "low", "title": "T" * 190, "location": "src/requests/adapters.py:1",
                 "detail": "word " * 399, "recommendation": "fix " * 399}
    try:
        config = write_config(tmp_path, loopback.url)
        with open(config, "a") as fh:
            fh.write('[gate]\nbot_login = "github-actions[bot]"\ncomments = "single"\n')
        serve(loopback, {(s, h): verdict_json("OK", risks=[long_risk] * 8)
                         for s in "abc" for h in ("tech", "product")})
        code = main(["canary", "--forge", "github", "--url", fake.url, "--repo", "owner/repo",
                     "--pr", "7", "--config", config])
        assert code == 0
        [decision] = [c for c in fake.comments if "reviewgate:decision" in c["body"]]
        assert len(decision["body"]) <= 65536
        assert "Cut here to fit the forge's limit of 65,536 characters" in decision["body"]
        assert read_rounds(decision["body"])  # the trailer survives the cut
        assert [s["state"] for s in fake.statuses] == ["pending", "success"]
    finally:
        fake.close()


def test_outputs_agree_with_the_status_for_a_demo_profile(forgejo, loopback, tmp_path,  # noqa: F811
                                                          monkeypatch):
    """A demo profile never passes the gate: the status is `error`, and so are the step
    outputs, the step summary and the decision comment (one final state)."""
    config = write_config(tmp_path, loopback.url)
    text = open(config).read().replace("[profiles.canary]\n", "[profiles.canary]\ndemo = true\n")
    open(config, "w").write(text)
    outputs, summary = tmp_path / "out.txt", tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    serve(loopback, {})
    assert canary(forgejo, config) == 12
    assert forgejo.status_rows(HEAD)[-1]["status"] == "error"
    assert "decision=error\nstate=error\n" in outputs.read_text()
    assert "**Status: ERROR**" in summary.read_text()
    [decision] = [c for c in ours(forgejo) if "reviewgate:decision" in c["body"]]
    assert "**Status: ERROR**" in decision["body"] and "MERGE" not in decision["body"]


def test_time_stamps_are_compared_as_instants():
    """Forgejo and Gitea write `created_at` with the server's offset: across a daylight-saving
    change the later row can sort first as text. The latest row is the latest instant."""
    later = StatusRow(state="success", context=CONTEXT, created_at="2026-10-25T02:05:00+01:00",
                      id=1)  # 01:05 UTC
    earlier = StatusRow(state="pending", context=CONTEXT, created_at="2026-10-25T01:59:00Z",
                        id=2)  # 01:59 UTC... later than 01:05
    assert latest_row([later, earlier]) is earlier
    newer = StatusRow(state="pending", context=CONTEXT, created_at="2026-10-25T02:30:00+02:00",
                      id=3)  # 00:30 UTC: sorts last as text, is the oldest instant
    assert latest_row([newer, later]) is later


def test_gate_status_reads_the_latest_instant(forgejo, capsys):  # noqa: F811
    """A forced re-review's success written with another offset is the latest row, not the
    older failure whose text sorts after it."""
    bot = make_forge("forgejo", url=forgejo.url, repo="owner/repo", token="bot-token")
    bot.set_status(HEAD, state="failure", context=CONTEXT, description="defer · base b")
    bot.set_status(HEAD, state="success", context=CONTEXT,
                   description="merge · base bbbbbbbbbbbb · Tech: 3/3 OK")
    rows = forgejo.status_rows(HEAD)
    base = dt.datetime(2026, 10, 25, 1, 0, tzinfo=dt.timezone.utc)
    rows[0]["created_at"] = (base + dt.timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    rows[1]["created_at"] = (base + dt.timedelta(minutes=2)).astimezone(
        dt.timezone(dt.timedelta(hours=-5))).isoformat()  # 20:02-05:00, sorts first as text
    assert read_gate(bot, 7, CONTEXT, now=base + dt.timedelta(minutes=3)).gate == "merge"


def test_a_review_that_does_not_land_keeps_the_previous_line_comments(loopback, tmp_path,
                                                                       capsys, monkeypatch):
    """The forge fails the review POST (500, nothing created): the previous round's review
    and its line comments stay, and the decision comment and the output say that line
    comments were not posted."""
    from conftest import DATA
    from fake_forgejo import FakePR
    fake = FakeForgejo()
    diff = (DATA / "requests-6667-ssl-context" / "diff.patch").read_text()
    fake.add_pr(FakePR(number=7, title="SSL", body="", diff=diff, head_sha=HEAD,
                       files=[{"filename": "src/requests/adapters.py", "status": "modified",
                               "additions": 28, "deletions": 18, "changes": 46}]))
    monkeypatch.setenv("REVIEWGATE_FORGE_TOKEN", "bot-token")
    try:
        config = write_config(tmp_path, loopback.url)
        serve(loopback, _answers([HIGH], [HIGH_B], [LOW]))
        assert canary(fake, config) == 10
        [first] = fake.pr_reviews(7)
        fake.fail_review_posts = 3
        assert canary(fake, config, "--force") == 10
        assert fake.pr_reviews(7) == [first]
        err = capsys.readouterr().err
        assert "line comments not posted" in err
        [decision] = [c for c in fake.pr_comments(7) if "reviewgate:decision" in c["body"]]
        assert "line comments not posted" in decision["body"]
        assert json.dumps(fake.violations) == "[]"
    finally:
        fake.close()
