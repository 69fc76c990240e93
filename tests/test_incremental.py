"""Incremental rounds (issue 18): after a push only the new commits are reviewed, the previous
round's open findings are carried and judged, and the decision still covers the whole pull
request. Local git ranges (``--previous``), the fake Forgejo's and the fake GitHub's compare
API, the decision with carried findings, and replay."""

from __future__ import annotations

import json
import subprocess

import pytest
from fake_github import FakeGitHub
from loopback import Reply
from test_canary import HEAD, canary, forgejo  # noqa: F401 - forgejo is a fixture
from test_cli import write_config
from test_decision import HATS, ballot
from test_providers_wire import openai_body

from reviewgate.cli import main
from reviewgate.gate import read_rounds
from reviewgate.core.changeset import parse_unified_diff
from reviewgate.ensemble.incremental import HistoryUnavailable
from reviewgate.forge import make_forge
from reviewgate.gate.history import ForgeHistory
from reviewgate.core.carry import CarriedFinding
from reviewgate.core.config import Policy
from reviewgate.core.decision import decide
from reviewgate.core.extraction import ExtractionError, extract_verdict
from reviewgate.core.verdict import CarriedMark
from reviewgate.ensemble.record import load_record
from reviewgate.ensemble.shadow import shadow_decide
from reviewgate.testing import verdict_json

BLOCKER = {"severity": "blocker", "title": "Retry loop never stops on HTTP 500",
           "location": "app.py:4", "detail": "fetch() retries forever when the server keeps "
           "answering 500.", "recommendation": "Bound the retries."}
NEW_LOW = {"severity": "low", "title": "README does not document the retry limit",
           "location": "README.md:1", "detail": "Users cannot tell how often it retries.",
           "recommendation": "Document tries=5."}

BASE_TEXT = "import time\n\n\ndef fetch(url):\n    return get(url)\n"
PUSH1_TEXT = ("import time\n\n\ndef fetch(url):\n    while True:\n        r = get(url)\n"
              "        if r.ok:\n            return r\n        time.sleep(30)\n")
PUSH2_TEXT = ("import time\n\n\ndef fetch(url, tries=5):\n    for _ in range(tries):\n"
              "        r = get(url)\n        if r.ok:\n            return r\n"
              "        time.sleep(30)\n    raise TimeoutError(url)\n")

# a module the first push adds and the second does not touch: the bulk of the pull request
CLIENT_TEXT = "".join(
    f"\n\ndef endpoint_{n}(session, payload):\n    \"\"\"Call endpoint {n}.\"\"\"\n"
    f"    response = session.post('/api/v1/endpoint/{n}', json=payload, timeout=30)\n"
    f"    response.raise_for_status()\n    return response.json()\n" for n in range(40))


def serve_rounds(loopback, first: dict, marks: dict[str, str] | None = None,
                 later_risks: dict | None = None) -> list[str]:
    """Answer round 1 with ``first`` (seat -> risks of its tech hat); a prompt with carried
    findings with ``marks`` (seat -> status of C1) and ``later_risks`` (seat -> risks).
    Returns the list the user prompts are appended to."""
    prompts: list[str] = []

    def handler(seen):
        seat = seen.body["model"].removeprefix("model-")
        user = seen.body["messages"][1]["content"]
        prompts.append(user)
        tech = "Your hat for this ballot: tech" in user
        if "open findings of the previous round" in user:
            risks = (later_risks or {}).get(seat, []) if tech else []
            status = (marks or {}).get(seat)
            vote = "NOT_OK" if status == "open" else "OK"
            return Reply(200, openai_body(verdict_json(
                vote, risks=risks, carried={"C1": status} if status else {})))
        risks = first.get(seat, []) if tech else []
        return Reply(200, openai_body(verdict_json("NOT_OK" if risks else "OK", risks=risks)))
    loopback.route("POST", "/v1/chat/completions", handler)
    return prompts


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository: ``base``, then ``push1`` and ``push2`` on a branch (``push2`` fixes
    the retry loop ``push1`` added); the working directory is the repository."""
    where = tmp_path / "repo"
    where.mkdir()

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=where, check=True, capture_output=True,
                              text=True).stdout.strip()

    git("init", "-q")
    git("config", "user.email", "t@example.invalid")
    git("config", "user.name", "t")
    (where / "app.py").write_text(BASE_TEXT)
    (where / "README.md").write_text("fetcher\n")
    git("add", ".")
    git("commit", "-qm", "base")
    shas = {"base": git("rev-parse", "HEAD")}
    (where / "app.py").write_text(PUSH1_TEXT)
    (where / "README.md").write_text("fetcher, retrying\n")
    (where / "client.py").write_text(CLIENT_TEXT)
    git("add", ".")
    git("commit", "-qm", "Retry fetches")
    shas["push1"] = git("rev-parse", "HEAD")
    (where / "app.py").write_text(PUSH2_TEXT)
    git("commit", "-qam", "Bound the retries")
    shas["push2"] = git("rev-parse", "HEAD")
    monkeypatch.chdir(where)
    shas["git"] = git  # type: ignore[assignment]
    return shas


def review(config, spec, out, *extra):
    return main(["review", "--git", spec, "--config", config, "--out", str(out), *extra])


def round_one(tmp_path, loopback, repo, first=None, top: str = ""):
    config = write_config(tmp_path, loopback.url)
    if top:  # top-level keys go before the tables
        path = __import__("pathlib").Path(config)
        path.write_text(top + path.read_text())
    prompts = serve_rounds(loopback, first if first is not None else
                           {"a": [BLOCKER], "b": [BLOCKER]})
    r1 = tmp_path / "r1.json"
    assert review(config, f"{repo['base']}..{repo['push1']}", r1) == 10  # the blocker defers
    return config, r1, prompts


def test_an_ancestor_push_reviews_only_the_new_commits(tmp_path, loopback, repo, capsys):
    """Round 2 after a push on top of round 1's head: the prompt holds the incremental diff
    and the whole pull request's file list, the carried blocker is resolved by all three seats
    and leaves the decision, which covers the whole range (both files)."""
    config, r1, _ = round_one(tmp_path, loopback, repo)
    prompts = serve_rounds(loopback, {}, marks={"a": "resolved", "b": "resolved",
                                                "c": "resolved"})
    r2 = tmp_path / "r2.json"
    capsys.readouterr()
    assert review(config, f"{repo['base']}..{repo['push2']}", r2, "--previous", str(r1)) == 0
    captured = capsys.readouterr()
    record = json.loads(r2.read_text())
    plan = record["input"]["round"]
    assert plan["mode"] == "incremental" and plan["from_sha"] == repo["push1"]
    assert plan["to_sha"] == repo["push2"] and plan["previous_head"] == repo["push1"]
    assert [c["id"] for c in plan["carried"]] == ["C1"]
    assert plan["carried"][0]["members"] == [["a", "tech", "blocker"], ["b", "tech", "blocker"]]
    # what was reviewed: only app.py's new hunk; the decision sizes the whole pull request
    assert [f["path"] for f in record["input"]["files"]] == ["app.py"]
    assert record["decision"]["changed_files"] == 3
    assert len(prompts) == 6
    user = prompts[0]
    assert "+    raise TimeoutError(url)" in user and "-    return get(url)" not in user
    assert "- README.md (modified, +1/-1)" in user  # the whole pull request's file list
    assert "C1 [blocker] Retry loop never stops on HTTP 500 (app.py:4)" in user
    assert record["decision"]["decision"] == "merge" and record["decision"]["clusters"] == []
    [outcome] = record["decision"]["carried"]
    assert outcome["status"] == "resolved" and outcome["resolved_by"] == ["a", "b", "c"]
    assert "Reviewed: commits" in captured.out and "| resolved | 1" in captured.out
    assert "round: commits" in captured.err
    assert "- `C1`: **resolved** — resolved in this push" in captured.out  # each seat's marks


def test_estimate_plans_the_round_as_a_review_would(tmp_path, loopback, repo, capsys):
    """``--estimate --previous`` estimates the incremental prompts: fewer tokens."""
    config, r1, _ = round_one(tmp_path, loopback, repo)
    capsys.readouterr()
    for extra in ([], ["--previous", str(r1)]):
        assert main(["review", "--git", f"{repo['base']}..{repo['push2']}", "--config", config,
                     "--estimate", *extra]) == 0
    whole, incremental = (_estimated(text) for text in capsys.readouterr().out.split(
        "| ballot")[1:])
    assert 0 < incremental < whole


def _estimated(table: str) -> int:
    """The sum of the prompt-token column of an ``--estimate`` table."""
    rows = [line.split("|") for line in table.splitlines() if line.startswith("| `")]
    return sum(int(row[2].strip().replace(",", "")) for row in rows)


@pytest.mark.parametrize("marks, code, status", [
    ({"a": "resolved", "b": "open", "c": "unsure"}, 10, "open"),    # 1 seat: no quorum
    ({"a": "resolved", "b": "resolved", "c": "open"}, 0, "resolved"),  # quorum: 2 of 3
    ({"a": "resolved"}, 0, "open"),    # b and c say nothing: unsure
])
def test_a_carried_blocker_stays_until_a_quorum_resolves_it(tmp_path, loopback, repo, marks,
                                                            code, status):
    """The carried blocker counts as before unless at least ``quorum`` seats (2) mark it
    resolved and they outnumber those that mark it open; a NOT_OK vote still counts."""
    config, r1, _ = round_one(tmp_path, loopback, repo)
    serve_rounds(loopback, {}, marks=marks)
    r2 = tmp_path / "r2.json"
    got = review(config, f"{repo['base']}..{repo['push2']}", r2, "--previous", str(r1))
    record = json.loads(r2.read_text())
    [outcome] = record["decision"]["carried"]
    assert outcome["status"] == status
    blocking = [c for c in record["decision"]["clusters"] if c["severity"] == "blocker"]
    if status == "open":
        assert got == 10 and record["decision"]["decision"] == "defer"
        assert blocking and blocking[0]["carried"] == "C1"
        assert any("Retry loop never stops" in r for r in record["decision"]["reasons"])
    else:
        assert got == code and blocking == []


def test_a_new_finding_joins_the_carried_one_it_repeats(tmp_path, loopback, repo):
    """A seat that raises the carried finding again (reworded) joins its cluster: one finding,
    now raised by two seats across the rounds, not two."""
    config, r1, _ = round_one(tmp_path, loopback, repo, first={"a": [BLOCKER]})
    again = {**BLOCKER, "title": "Retry loop still never stops on HTTP 500",
             "location": "app.py:5"}
    serve_rounds(loopback, {}, marks={"b": "open"}, later_risks={"b": [again], "c": [NEW_LOW]})
    r2 = tmp_path / "r2.json"
    assert review(config, f"{repo['base']}..{repo['push2']}", r2, "--previous", str(r1)) == 10
    clusters = json.loads(r2.read_text())["decision"]["clusters"]
    assert len(clusters) == 2
    joined = next(c for c in clusters if c["carried"] == "C1")
    assert sorted({m["seat"] for m in joined["members"]}) == ["a", "b"]
    assert next(c for c in clusters if not c["carried"])["title"] == NEW_LOW["title"]


def _amend(repo):
    git = repo["git"]
    git("checkout", "-q", repo["push1"])
    (__import__("pathlib").Path.cwd() / "app.py").write_text(PUSH2_TEXT + "# amended\n")
    git("commit", "-q", "--amend", "-am", "Retry fetches (rewritten)")
    return git("rev-parse", "HEAD")


def _moved_base(repo):
    git = repo["git"]
    git("checkout", "-q", "-b", "other", repo["base"])
    (__import__("pathlib").Path.cwd() / "NEWS").write_text("news\n")
    git("add", "NEWS")
    git("commit", "-qm", "news")
    new_base = git("rev-parse", "HEAD")
    git("checkout", "-q", "-b", "merged", repo["push2"])
    git("merge", "-q", "--no-edit", "other")
    return new_base, git("rev-parse", "HEAD")


@pytest.mark.parametrize("case", ["force-push", "base moved", "missing history", "diff file",
                                  "no previous", "most of it", "only ignored files"])
def test_whole_rounds_say_why(tmp_path, loopback, repo, case):
    """Force-push (the previous head is not an ancestor), a moved base, a previous head the
    repository does not have, a diff file and no --previous: the whole pull request is reviewed
    and the record says why."""
    # the ignore globs are part of the configuration an incremental round must share
    top = 'ignore = ["*.md"]\n' if case == "only ignored files" else ""
    config, r1, _ = round_one(tmp_path, loopback, repo, top=top)
    prompts = serve_rounds(loopback, {})
    args = ["--previous", str(r1)]
    spec = f"{repo['base']}..{repo['push2']}"
    expected = ""
    if case == "force-push":
        spec = f"{repo['base']}..{_amend(repo)}"
        expected = f"force-push or rebase: {repo['push1'][:7]} is not an ancestor of"
    elif case == "base moved":
        new_base, head = _moved_base(repo)
        spec = f"{new_base}..{head}"
        expected = f"the merge base moved ({repo['base'][:7]} -> {new_base[:7]})"
    elif case == "missing history":
        data = json.loads(r1.read_text())
        data["input"]["head_sha"] = "f" * 40
        r1.write_text(json.dumps(data))
        expected = "no usable history: commit ffffffffffff is not in this repository"
    elif case == "no previous":
        args = []
        expected = "no --previous decision.json given"
    elif case == "most of it":  # a push that rewrites the bulk of the pull request
        (__import__("pathlib").Path.cwd() / "client.py").write_text(CLIENT_TEXT.replace(
            "timeout=30", "timeout=60"))
        repo["git"]("commit", "-qam", "Longer timeouts")
        spec = f"{repo['base']}..{repo['git']('rev-parse', 'HEAD')}"
        expected = "the push changes most of the pull request (its diff is"
    elif case == "only ignored files":  # a push on top of round 1's head, docs only
        repo["git"]("checkout", "-q", repo["push1"])
        (__import__("pathlib").Path.cwd() / "README.md").write_text("fetcher, retrying 5x\n")
        repo["git"]("commit", "-qam", "Docs only")
        spec = f"{repo['base']}..{repo['git']('rev-parse', 'HEAD')}"
        expected = "the push changes only files the configuration ignores"
    r2 = tmp_path / "r2.json"
    if case == "diff file":
        diff = tmp_path / "change.patch"
        diff.write_text(repo["git"]("diff", repo["base"], repo["push2"]) + "\n")
        main(["review", "--diff", str(diff), "--config", config, "--out", str(r2), *args])
        expected = "no commit history to compare with (a diff file)"
    else:
        review(config, spec, r2, *args)
    plan = json.loads(r2.read_text())["input"]["round"]
    assert plan["mode"] == "whole" and plan["carried"] == []
    assert plan["reason"].startswith(expected), plan["reason"]
    assert all("open findings of the previous round" not in p for p in prompts)


def test_an_incremental_record_replays_to_the_same_decision(tmp_path, loopback, repo, capsys):
    """``review --replay`` and ``reviewgate replay`` reproduce an incremental round's decision,
    carried outcomes included, without a model."""
    config, r1, _ = round_one(tmp_path, loopback, repo)
    serve_rounds(loopback, {}, marks={"a": "resolved", "b": "open", "c": "unsure"},
                 later_risks={"c": [NEW_LOW]})
    r2 = tmp_path / "r2.json"
    assert review(config, f"{repo['base']}..{repo['push2']}", r2, "--previous", str(r1)) == 10
    loopback.route("POST", "/v1/chat/completions", lambda seen: Reply(500, {}))
    capsys.readouterr()
    assert main(["review", "--replay", str(r2), "--format", "json"]) == 10
    replayed = json.loads(capsys.readouterr().out)
    original = json.loads(r2.read_text())
    for key in ("decision", "reasons", "clusters", "carried", "tallies", "questions"):
        assert replayed["decision"][key] == original["decision"][key], key
    assert replayed["input"]["round"] == original["input"]["round"]
    record = load_record(r2)
    shadow = shadow_decide(record, record.config.profile.policy)
    assert not shadow.flipped and shadow.after.carried == record.decision.carried
    assert shadow.after.clusters == record.decision.clusters


def test_carried_marks_are_validated_like_the_rest():
    """An unknown id or a finding judged twice is not a valid answer (it gets the re-ask)."""
    ok = verdict_json(carried={"C1": "resolved"})
    assert extract_verdict(ok, ["C1"]).carried == [
        CarriedMark(id="C1", status="resolved", note="resolved in this push")]
    with pytest.raises(ExtractionError, match="unknown id 'C9'"):
        extract_verdict(verdict_json(carried={"C9": "resolved"}), ["C1"])
    twice = json.loads(ok)
    twice["carried"] *= 2
    with pytest.raises(ExtractionError, match="judged twice"):
        extract_verdict(json.dumps(twice), ["C1"])
    with pytest.raises(ExtractionError):
        extract_verdict(verdict_json(), ["C1"])  # the field is required in such a round


def test_decide_counts_an_unresolved_carried_finding_as_before():
    """Unit: a carried corroborated high finding defers as it did; resolved by a quorum it
    leaves; a seat's two hats are one reviewer (two hats resolving is not a quorum)."""
    carried = [CarriedFinding(id="C1", severity="high", title="Pool key drops params",
                              location="src/pool.py:3", detail="d",
                              members=[("a", "tech", "high"), ("b", "tech", "high")])]

    def run(marks):
        ballots = []
        for s in "abc":
            for h in HATS:
                b = ballot(s, h)
                status = marks.get((s, h))
                if status:
                    b.marks = [CarriedMark(id="C1", status=status, note="")]
                ballots.append(b)
        return decide(ballots, Policy(), hats=HATS, changed_lines=10, changed_files=1,
                      carried=carried)

    kept = run({})
    assert kept.decision == "defer" and kept.clusters[0].carried == "C1"
    assert kept.clusters[0].corroborated and kept.carried[0].unsure_by == ["a", "b", "c"]
    one_seat = run({("a", "tech"): "resolved", ("a", "product"): "resolved"})
    assert one_seat.decision == "defer" and one_seat.carried[0].resolved_by == ["a"]
    gone = run({("a", "tech"): "resolved", ("b", "product"): "resolved"})
    assert gone.decision == "merge" and gone.clusters == [] and len(gone.resolved) == 1
    mixed = run({("a", "tech"): "resolved", ("b", "tech"): "resolved", ("b", "product"): "open"})
    assert mixed.carried[0].open_by == ["b"] and mixed.decision == "defer"


# --- the gate ----------------------------------------------------------------------------

NEW_HEAD = "c" * 40
PATH = "src/requests/adapters.py"


def _push(fake_trees, parents, old, new, text_old):
    """A push of one line on top of ``old``: trees and the commit graph."""
    fake_trees[old] = {PATH: text_old}
    fake_trees[new] = {PATH: text_old.replace("def cert_verify(", "def cert_verify(  # checked\n"
                                              "    ", 1)}
    parents.setdefault("b" * 40, [])
    parents.setdefault(old, ["b" * 40])
    parents[new] = [old]


def _adapters_text():
    from conftest import DATA
    return (DATA / "requests-6667-ssl-context" / "head" / "adapters.py").read_text()


def test_forgejo_gate_reviews_the_push_incrementally(forgejo, loopback, tmp_path):  # noqa: F811
    """Through ``canary`` on the fake Forgejo: round 2 after a push reads the compare API
    (ancestry from the commits' parents, the diff from both commits' texts), reviews only that
    diff, and the decision comment says what was reviewed; the round history records it."""
    _push(forgejo.trees, forgejo.parents, HEAD, NEW_HEAD, _adapters_text())
    config = write_config(tmp_path, loopback.url)
    blocker = {**BLOCKER, "location": f"{PATH}:80"}
    serve_rounds(loopback, {"a": [blocker], "b": [blocker]})
    assert canary(forgejo, config) == 10
    forgejo.prs[7].move_head(NEW_HEAD)
    prompts = serve_rounds(loopback, {}, marks={"a": "resolved", "b": "resolved"})
    assert canary(forgejo, config) == 0
    assert len(prompts) == 6 and "def cert_verify(  # checked" in prompts[0]
    assert "def init_poolmanager" not in prompts[0].split("BEGIN unified diff")[1].split(
        "END")[0]
    body = next(c["body"] for c in forgejo.pr_comments(7) if "reviewgate:decision" in c["body"])
    assert f"Reviewed: commits {HEAD[:7]}..{NEW_HEAD[:7]}, 1 file(s)" in body
    assert "| resolved | 1<br>`blocker` Retry loop never stops" in body
    assert [r.mode for r in read_rounds(body)] == ["whole", "incremental"]
    assert forgejo.statuses[NEW_HEAD][-1]["status"] == "success"


def test_forgejo_gate_without_the_old_head_reviews_the_whole_pull_request(
        forgejo, loopback, tmp_path):  # noqa: F811
    """A force-pushed-away previous head (compare answers 404): whole round, and why."""
    config = write_config(tmp_path, loopback.url)
    serve_rounds(loopback, {"a": [NEW_LOW]})
    assert canary(forgejo, config) == 0
    forgejo.prs[7].move_head(NEW_HEAD)
    forgejo.prs[7].title += " (v2)"  # a new head is a new input (no verdict-cache hit)
    forgejo.parents[NEW_HEAD] = []
    prompts = serve_rounds(loopback, {})
    assert canary(forgejo, config) == 0
    assert len(prompts) == 6 and all("open findings of the previous" not in p for p in prompts)
    body = next(c["body"] for c in forgejo.pr_comments(7) if "reviewgate:decision" in c["body"])
    assert "Reviewed: the whole pull request (no usable history: compare" in body


def test_github_gate_takes_the_incremental_diff_from_compare(loopback, tmp_path, monkeypatch):
    """GitHub: ``status: ahead`` from the compare API, the diff from its diff media type."""
    from conftest import DATA
    diff = (DATA / "requests-6667-ssl-context" / "diff.patch").read_text()
    fake = FakeGitHub(diff, HEAD, [{"filename": PATH, "status": "modified",
                                    "additions": 28, "deletions": 18}])
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_actions_token_123456")
    _push(fake.trees, fake.parents, HEAD, NEW_HEAD, _adapters_text())
    try:
        config = write_config(tmp_path, loopback.url)
        with open(config, "a") as fh:
            fh.write('[gate]\nbot_login = "github-actions[bot]"\n')
        run = ["canary", "--forge", "github", "--url", fake.url, "--repo", "owner/repo",
               "--pr", "7", "--config", config]
        serve_rounds(loopback, {"a": [BLOCKER], "b": [BLOCKER]})
        assert main(run) == 10
        fake.head = NEW_HEAD
        prompts = serve_rounds(loopback, {}, marks={"a": "resolved", "b": "resolved"})
        assert main(run) == 0
        assert "def cert_verify(  # checked" in prompts[0]
        assert any(p.endswith(f"/compare/{HEAD}...{NEW_HEAD}") for _, p, _ in fake.log)
        assert fake.problems == []
    finally:
        fake.close()


@pytest.mark.parametrize("kind", ["forgejo", "gitea"])
def test_forge_history_builds_the_interdiff_file_by_file(forgejo, kind):  # noqa: F811
    """Forgejo and Gitea serve no range diff: ancestry comes from the compare API's commit
    parents, the diff from both commits' texts over the files git's trees say differ (a
    changed binary file as not reviewable; Gitea's ``Compare`` lists no files, and Forgejo's
    lists each commit against its first parent, so neither is the list). An unknown commit
    is no usable history."""
    base, old, new = "1" * 40, "2" * 40, "3" * 40
    forgejo.parents.update({base: [], old: [base], new: [old]})
    forgejo.trees[old] = {"a.py": "x = 1\ny = 2\n", "logo.png": b"\x89PNG\x00\xff"}
    forgejo.trees[new] = {"a.py": "x = 1\ny = 3\n", "logo.png": b"\x89PNG\x00\xfe",
                          "new.py": "z = 0\n"}
    forgejo.compare_files = kind == "forgejo"
    history = ForgeHistory(make_forge(kind, url=forgejo.url, repo="owner/repo",
                                      token="bot-token"))
    assert history.is_ancestor(old, new) and not history.is_ancestor(new, old)
    files = {f.path: f for f in parse_unified_diff(history.interdiff(old, new, ["a.py"]))}
    # both: the files git's trees of the two commits say differ (Gitea's compare lists none)
    assert sorted(files) == ["a.py", "logo.png", "new.py"]
    assert files["logo.png"].unreadable and files["new.py"].status == "added"
    assert (files["a.py"].added, files["a.py"].removed) == (1, 1)
    with pytest.raises(HistoryUnavailable, match="compare"):
        history.is_ancestor("4" * 40, new)
    with pytest.raises(HistoryUnavailable, match="not a commit SHA"):
        ForgeHistory(history.forge).is_ancestor("HEAD/../x", new)


def test_an_open_finding_is_carried_again_until_resolved(tmp_path, loopback, repo):
    """Round 2 keeps the blocker open; round 3 (after one more push, ``--previous`` round 2's
    record) carries it again, still as raised in round 1, and resolves it."""
    config, r1, _ = round_one(tmp_path, loopback, repo)
    serve_rounds(loopback, {}, marks={"a": "open"})
    r2 = tmp_path / "r2.json"
    assert review(config, f"{repo['base']}..{repo['push2']}", r2, "--previous", str(r1)) == 10
    (__import__("pathlib").Path.cwd() / "README.md").write_text("fetcher, retrying 5 times\n")
    repo["git"]("commit", "-qam", "Document the retries")
    push3 = repo["git"]("rev-parse", "HEAD")
    prompts = serve_rounds(loopback, {}, marks={"a": "resolved", "b": "resolved"})
    r3 = tmp_path / "r3.json"
    assert review(config, f"{repo['base']}..{push3}", r3, "--previous", str(r2)) == 0
    plan = json.loads(r3.read_text())["input"]["round"]
    assert plan["mode"] == "incremental" and plan["from_sha"] == repo["push2"]
    [carried] = plan["carried"]
    assert carried["title"] == BLOCKER["title"]
    assert carried["members"] == [["a", "tech", "blocker"], ["b", "tech", "blocker"]]
    assert "+fetcher, retrying 5 times" in prompts[0] and "tries=5" not in prompts[0].split(
        "BEGIN unified diff")[1].split("END")[0]


def test_the_decision_with_carried_findings_ignores_ballot_order():
    """Rule 7 holds with carried findings: any order of the ballots, the same decision."""
    import random

    carried = [CarriedFinding(id="C1", severity="blocker", title="Pool key drops params",
                              location="src/pool.py:3", detail="d",
                              members=[("a", "tech", "blocker")]),
               CarriedFinding(id="C2", severity="medium", title="Docs lag behind",
                              location="README.md", detail="d",
                              members=[("b", "product", "medium"), ("c", "tech", "low")])]
    ballots = [ballot(s, h, risks=[finding_for(s)] if h == "tech" else []) for s in "abc"
               for h in HATS]
    for b, status in zip(ballots, ["resolved", "open", "resolved", "unsure", "open",
                                   "resolved"], strict=True):
        b.marks = [CarriedMark(id="C1", status=status, note=""),
                   CarriedMark(id="C2", status="resolved", note="")]
    first = decide(ballots, Policy(), hats=HATS, changed_lines=10, changed_files=1,
                   carried=carried)
    rng = random.Random(7)
    for _ in range(20):
        rng.shuffle(ballots)
        again = decide(ballots, Policy(), hats=HATS, changed_lines=10, changed_files=1,
                       carried=carried)
        assert again.model_dump() == first.model_dump()
    assert [o.status for o in first.carried] == ["open", "resolved"]


def finding_for(seat: str):
    from test_decision import finding
    return finding("low", title=f"Naming nit from {seat}", location=f"src/{seat}.py:1")
