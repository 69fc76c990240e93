"""`reviewgate report` (issue "Steer by cost and by outcomes"): each seat's findings followed to
their outcome, read only from the gate's own decision comments. Rounds are real gate runs on the
fake Forgejo (scripted seats on a loopback OpenAI-compatible server); the expected figures are
computed by hand below each scenario."""

from __future__ import annotations

import base64
import json

import pytest
from fake_forgejo import FakeForgejo, FakePR
from loopback import Reply
from test_cli import write_config
from test_incremental import _adapters_text, _push
from test_providers_wire import openai_body

from reviewgate.cli import main
from reviewgate.gate import read_rounds
from reviewgate.publish.render import Round
from reviewgate.quality.outcomes import pull_outcome, report
from reviewgate.testing import verdict_json

PATH = "src/requests/adapters.py"
#: what one ballot costs: 120 prompt tokens at $3/M + 40 output tokens at $15/M (the test seats'
#: prices and the loopback's usage)
BALLOT_USD = 120 * 3.0 / 1e6 + 40 * 15.0 / 1e6
BLOCKER = {"severity": "blocker", "title": "verify=False still loads the default CA bundle",
           "location": f"{PATH}:80", "detail": "cert_verify ignores verify=False and the "
           "SSL context keeps checking certificates.", "recommendation": "Honour verify."}
LOW = {"severity": "low", "title": "Changelog entry missing",
       "location": "HISTORY.md:1", "detail": "Users upgrading cannot read about the cached "
       "context in the release notes.", "recommendation": "Add a HISTORY line."}
ANOTHER = {"severity": "medium", "title": "Session pool size is hard-coded",
           "location": f"{PATH}:120", "detail": "pool_maxsize stays 10 whatever the caller "
           "configures for the adapter.", "recommendation": "Pass the configured size."}


class Script:
    """What each seat answers, set before each round: ``risks`` (seat -> tech risks of a round
    without carried findings), ``marks`` (seat -> {C-label: status}) and ``later`` (seat ->
    tech risks) for an incremental round."""

    def __init__(self, loopback):
        self.risks: dict[str, list[dict]] = {}
        self.marks: dict[str, dict[str, str]] = {}
        self.later: dict[str, list[dict]] = {}
        loopback.route("POST", "/v1/chat/completions", self.answer)

    def set(self, risks=None, marks=None, later=None) -> None:
        self.risks, self.marks, self.later = risks or {}, marks or {}, later or {}

    def answer(self, seen):
        seat = seen.body["model"].removeprefix("model-")
        user = seen.body["messages"][1]["content"]
        tech = "Your hat for this ballot: tech" in user
        if "open findings of the previous round" in user:
            risks = self.later.get(seat, []) if tech else []
            marks = self.marks.get(seat, {})
            vote = "NOT_OK" if risks or "open" in marks.values() else "OK"
            return Reply(200, openai_body(verdict_json(vote, risks=risks, carried=marks)))
        risks = self.risks.get(seat, []) if tech else []
        return Reply(200, openai_body(verdict_json("NOT_OK" if risks else "OK", risks=risks)))


@pytest.fixture
def fake(monkeypatch):
    """The fake Forgejo with pull requests 1-3 (psf/requests#6667's diff each, their own heads)
    and #5, last updated before the report's date; the bot token is set."""
    f = FakeForgejo()
    diff = (__import__("conftest").DATA / "requests-6667-ssl-context" / "diff.patch").read_text()
    files = [{"filename": PATH, "status": "modified", "additions": 28, "deletions": 18,
              "changes": 46}]
    for n in (1, 2, 3, 5):
        f.add_pr(FakePR(number=n, title=f"Avoid reloading root certificates (part {n})",
                        body="Perf fix.", diff=diff, head_sha=f"{n}" * 40, files=files))
    monkeypatch.setenv("REVIEWGATE_FORGE_TOKEN", "bot-token")
    yield f
    f.close()
    assert f.violations == []


def canary(fake, config, number, *extra):
    return main(["canary", "--forge", "forgejo", "--url", fake.url, "--repo", "owner/repo",
                 "--pr", str(number), "--config", config, *extra])


def push(fake, number, new):
    pr = fake.prs[number]
    _push(fake.trees, fake.parents, pr.head_sha, new, _adapters_text())
    pr.move_head(new)


def run_report(fake, config, *extra):
    return main(["report", "--forge", "forgejo", "--url", fake.url, "--repo", "owner/repo",
                 "--since", "2026-01-01", "--config", config, *extra])


def test_report_follows_each_finding_to_its_outcome(fake, loopback, tmp_path, capsys):
    """Three pull requests with two or three rounds each, one override, one merged; a fourth
    last updated before --since; a forged decision comment by someone else. The figures per
    seat and hat are the ones computed by hand."""
    config = write_config(tmp_path, loopback.url)
    script = Script(loopback)
    blocker, low = BLOCKER, LOW
    # PR 1: a and b raise the blocker (F1, corroborated), c a low finding (F2); a push: a and b
    # mark F1 (C1: most severe first) resolved, F2 (C2) stays open; then it merges.
    script.set(risks={"a": [blocker], "b": [blocker], "c": [low]})
    assert canary(fake, config, 1) == 10
    push(fake, 1, "d" * 40)
    script.set(marks={"a": {"C1": "resolved"}, "b": {"C1": "resolved"}})
    assert canary(fake, config, 1) == 0
    fake.prs[1].state, fake.prs[1].merged_at = "closed", "2026-11-20T10:00:00Z"
    # PR 2: c raises the blocker alone (F1), a the low one (F2); a forced whole re-review on
    # the same head: c raises it again, a does not (F2 not raised again); a person overrides.
    script.set(risks={"c": [blocker], "a": [low]})
    assert canary(fake, config, 2) == 10
    script.set(risks={"c": [blocker]})
    assert canary(fake, config, 2, "--force") == 10
    assert main(["override", "--forge", "forgejo", "--url", fake.url, "--repo", "owner/repo",
                 "--pr", "2", "--config", config, "--reason", "reviewed by hand",
                 "--sha", "2" * 40]) == 0
    # PR 3: a raises the low finding (F1); a push: a and b resolve it; another push: b raises
    # a new medium finding (F2), still open (not merged).
    script.set(risks={"a": [low]})
    assert canary(fake, config, 3) == 0  # one seat, low: no rule defers
    push(fake, 3, "e" * 40)
    script.set(marks={"a": {"C1": "resolved"}, "b": {"C1": "resolved"}})
    assert canary(fake, config, 3) == 0
    push(fake, 3, "f" * 40)
    script.set(risks={"b": [ANOTHER]})  # nothing carried: the plain prompt
    assert canary(fake, config, 3) == 0
    # PR 5: a round, but last updated before --since: not read
    script.set(risks={"a": [blocker], "b": [blocker]})
    assert canary(fake, config, 5) == 10
    fake.prs[5].updated_at = "2025-06-01T00:00:00Z"
    # a decision comment someone else wrote, claiming findings: never read
    forged = [{"head_sha": "3" * 40, "decision": "defer", "tallies": "", "fired_by": "ci",
               "at": "2026-11-01T00:00:00+00:00", "outcome": {
                   "n": [[99, [["c", "tech", "blocker"]]]], "r": [99], "d": [], "c": []}}]
    fake.add_comment(3, "mallory", "<!-- reviewgate:decision -->\nlooks decided\n"
                     "<!-- reviewgate:rounds v2 "
                     + base64.b64encode(json.dumps(forged).encode()).decode() + " -->")
    for n, kinds in ((1, ["whole", "incremental"]), (2, ["whole", "whole", ""]),
                     (3, ["whole", "incremental", "incremental"])):
        [body] = [c["body"] for c in fake.pr_comments(n) if c["user"] == "reviewbot"
                  and c["body"].startswith("<!-- reviewgate:decision -->")]
        assert [r.mode for r in read_rounds(body)] == kinds, n
    capsys.readouterr()

    assert run_report(fake, config, "--format", "json") == 0
    out = capsys.readouterr()
    data = json.loads(out.out)
    rows = {(s["seat"], s["hat"]): s for s in data["seats"]}
    assert (data["pulls"], data["merged"], data["rounds"], data["overrides"]) == (3, 1, 7, 1)
    assert data["unreadable"] == 0
    figures = ("raised", "corroborated", "blockers", "resolved", "dropped", "dismissed",
               "open_at_merge", "open")
    got = {k: tuple(rows[k][f] for f in figures) for k in rows if rows[k]["raised"]}
    #                 raised corr. block. resolved dropped dismissed open@merge open
    assert got == {("a", "tech"): (3, 1, 1, 2, 1, 0, 0, 0),   # PR1 F1, PR2 F2, PR3 F1
                   ("b", "tech"): (2, 1, 1, 1, 0, 0, 0, 1),   # PR1 F1, PR3 F2
                   ("c", "tech"): (2, 0, 1, 0, 0, 1, 1, 0)}   # PR1 F2, PR2 F1
    assert rows[("a", "tech")]["resolved_share"] == pytest.approx(2 / 3)
    assert rows[("c", "tech")]["resolved_share"] == 0
    # 7 rounds x 6 ballots, every ballot paid; each (seat, hat) cast one ballot per round
    assert data["cost_usd"] == pytest.approx(7 * 6 * BALLOT_USD)
    assert data["cost_per_pull"] == pytest.approx(7 * 6 * BALLOT_USD / 3)
    for key in (("a", "product"), ("c", "tech")):
        assert rows[key]["pulls"] == 3
        assert rows[key]["cost_usd"] == pytest.approx(7 * BALLOT_USD)
        assert rows[key]["cost_per_pull"] == pytest.approx(7 * BALLOT_USD / 3)
    assert "pull request(s) read" in out.err

    assert run_report(fake, config) == 0
    table = capsys.readouterr().out
    assert "3 pull request(s) read, 1 merged; 7 reviewed round(s), 1 override(s)" in table
    assert "| a | tech | 3 | 1 | 1 | 2 | 67% | 1 | 0 | 0 | 0 |" in table
    assert "| c | tech | 2 | 0 | 1 | 0 | 0% | 0 | 1 | 1 | 0 |" in table


def test_report_requests_per_pull_request(fake, loopback, tmp_path, capsys):
    """The reads: one page of the pull request list (50 a page), then one list of comments per
    pull request; nothing is written."""
    config = write_config(tmp_path, loopback.url)
    fake.log.clear()
    assert run_report(fake, config, "--bot-login", "reviewbot") == 0
    reads = [entry for entry in fake.log]
    assert all(method == "GET" for method, _ in reads)
    paths = [p.split("?")[0] for _, p in reads]
    assert paths.count("/api/v1/repos/owner/repo/pulls") == 1
    assert sorted(p for p in paths if p.endswith("/comments")) == [
        f"/api/v1/repos/owner/repo/issues/{n}/comments" for n in (1, 2, 3, 5)]
    assert "0 pull request(s) read, 0 merged" in capsys.readouterr().out


def rnd(decision="defer", outcome=None, cost=0.01, mode="whole") -> Round:
    return Round(head_sha="a" * 40, decision=decision, tallies="", fired_by="ci",
                 at="2026-11-01T00:00:00+00:00", mode=mode, cost=cost, outcome=outcome)


def test_replay_of_a_ledger_by_hand():
    """The replay rules on a hand-made history: raised once per ballot even when raised again,
    a resolved finding stays resolved, an override dismisses what is open then, a merge leaves
    the rest open at merge, a malformed entry is counted and changes nothing."""
    rounds = [
        rnd(outcome={"n": [[1, [["a", "tech", "blocker"], ["b", "tech", "high"]]],
                           [2, [["c", "product", "low"]]]], "r": [], "d": [],
                     "c": [["a", "tech", 0.1], ["b", "tech", 0.2]]}),
        rnd(outcome={"n": [[1, [["c", "tech", "medium"]]], [3, [["a", "tech", "low"]]]],
                     "r": [1], "d": [], "c": []}, mode="incremental"),
        rnd(outcome={"n": "not a list", "r": [], "d": [], "c": []}),
        rnd(decision="override", cost=0),
        rnd(outcome={"n": [[4, [["b", "tech", "low"]]]], "r": [2, 3], "d": [], "c": []}),
    ]
    p = pull_outcome(9, rounds, merged=True)
    assert p.findings == {1: "resolved", 2: "dismissed", 3: "dismissed", 4: "open_at_merge"}
    assert (p.rounds, p.overrides, p.unreadable) == (4, 1, 1)
    assert p.cost_usd == pytest.approx(0.04)
    r = report([p])
    rows = {(s.seat, s.hat): s for s in r.seats}
    assert (rows[("a", "tech")].raised, rows[("a", "tech")].corroborated,
            rows[("a", "tech")].blockers, rows[("a", "tech")].resolved,
            rows[("a", "tech")].dismissed) == (2, 1, 1, 1, 1)
    assert rows[("c", "tech")].corroborated == 1  # joined F1 later: three seats on it
    assert rows[("b", "tech")].open_at_merge == 1 and rows[("b", "tech")].cost_usd == 0.2
    assert rows[("c", "product")].dismissed == 1


def test_report_on_github(loopback, tmp_path, monkeypatch, capsys):
    """GitHub: the list sorted by `sort=updated&direction=desc`, the Actions bot's comments
    read as the gate's (`--bot-login`), a pull request updated before --since left out."""
    from fake_github import FakeGitHub
    from test_cli import serve

    diff = (__import__("conftest").DATA / "requests-6667-ssl-context" / "diff.patch").read_text()
    github = FakeGitHub(diff, "e" * 40, [{"filename": PATH, "status": "modified",
                                          "additions": 28, "deletions": 18}])
    monkeypatch.delenv("REVIEWGATE_FORGE_TOKEN", raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_actions_token_123456")
    try:
        config = write_config(tmp_path, loopback.url)
        serve(loopback, {("a", "tech"): verdict_json("NOT_OK", risks=[BLOCKER])})
        assert main(["canary", "--forge", "github", "--url", github.url, "--repo",
                     "owner/repo", "--pr", "7", "--config", config]) == 10
        args = ["report", "--forge", "github", "--url", github.url, "--repo", "owner/repo",
                "--bot-login", "github-actions[bot]", "--format", "json", "--since"]
        capsys.readouterr()
        assert main([*args, "2026-11-01"]) == 0
        data = json.loads(capsys.readouterr().out)
        [row] = [s for s in data["seats"] if s["raised"]]
        assert (row["seat"], row["hat"], row["raised"], row["blockers"], row["open"]) == (
            "a", "tech", 1, 1, 1)
        assert main([*args, "2026-11-21T00:00:00Z"]) == 0
        assert json.loads(capsys.readouterr().out)["pulls"] == 0
        assert github.problems == []
    finally:
        github.close()
