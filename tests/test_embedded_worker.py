"""The embedded model runs in a worker process: a crash of llama.cpp (a real SIGSEGV in the
worker) ends as ABSTAIN ballots with the cause and the fix, exit 12, and in gate mode an `error`
status on the head, never a dead gate."""

from __future__ import annotations

import json
import os

import pytest
from conftest import DATA
from test_canary import HEAD, forgejo  # noqa: F401 - the fixture

import reviewgate.providers.local as local
from reviewgate.cli import main
from reviewgate.providers import local_worker

pytest.importorskip("llama_cpp")  # the local extra: LocalProvider checks it is installed

DIFF = str(DATA / "requests-6667-ssl-context" / "diff.patch")


@pytest.fixture
def runner(monkeypatch):
    """Use a test double as the worker's runner (a fresh worker per test)."""
    def use(name: str) -> None:
        local._stop_workers()
        monkeypatch.setattr(local, "RUNNER", f"crashing_model:{name}")
    yield use
    local._stop_workers()


def test_a_segfault_in_the_worker_abstains_with_cause_and_fix(runner, tmp_path, capsys):
    """The worker dies by SIGSEGV during the first ballot: every ballot abstains naming the
    signal and the reinstall command; the review exits 12 (quorum) and writes decision.json."""
    runner("segfault")
    out = tmp_path / "decision.json"
    code = main(["review", "--diff", DIFF, "--title", "t", "--out", str(out), "--no-cache"])
    assert code == 12
    record = json.loads(out.read_text())
    assert record["decision"]["decision"] == "error"
    assert len(record["ballots"]) == 6
    for ballot in record["ballots"]:
        assert ballot["vote"] == "ABSTAIN"
        assert "crashed in its worker process (signal SIGSEGV)" in ballot["error"]
        assert "--no-cache-dir --force-reinstall" in ballot["error"]


def test_the_worker_is_another_process_and_answers(runner, tmp_path):
    """A healthy worker answers all six ballots from one process that is not the gate's."""
    runner("answer_ok")
    out = tmp_path / "decision.json"
    code = main(["review", "--diff", DIFF, "--title", "t", "--out", str(out), "--no-cache"])
    record = json.loads(out.read_text())
    pids = {b["verdict"]["summary"] for b in record["ballots"]}
    assert code == 0 and len(pids) == 1 and pids != {f"worker pid {os.getpid()}"}


def test_gate_mode_posts_error_when_the_worker_crashes(runner, forgejo, tmp_path,  # noqa: F811
                                                      capsys):
    """A repository whose profile is the embedded model: the crash ends as `error` on the head
    SHA with the quorum reason, never a `pending` left behind."""
    runner("segfault")
    config = tmp_path / "reviewgate.toml"
    seat = 'provider = "local"\nmodel = "gemma3-270m-q4_k_m"\n'
    config.write_text('default_profile = "local"\ncache = false\n[profiles.local]\n'
                      f'[[profiles.local.seats]]\nname = "g1"\n{seat}seed = 1\n'
                      f'[[profiles.local.seats]]\nname = "g2"\n{seat}seed = 2\n')
    code = main(["canary", "--forge", "forgejo", "--url", forgejo.url, "--repo", "owner/repo",
                 "--pr", "7", "--config", str(config)])
    assert code == 12
    rows = forgejo.status_rows(HEAD)
    assert [r["status"] for r in rows] == ["pending", "error"]
    assert "Tech: 0/2 OK" in rows[-1]["description"], rows[-1]["description"]


def test_an_amx_build_on_a_machine_without_amx_is_named_up_front(monkeypatch):
    """A llama.cpp built with AMX on a machine that does not grant AMX is a problem with the
    exact reinstall command; a portable build, or a machine that grants AMX, is not."""
    native = "CPU : SSE3 = 1 | AVX2 = 1 | AMX_INT8 = 1 | AMX_BF16 = 1 | "
    portable = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | "
    monkeypatch.setattr(local_worker, "_amx_permitted", lambda: False)
    problem = local_worker.runtime_problem(native)
    assert problem and local_worker.REINSTALL in problem and "AMX" in problem
    assert local_worker.runtime_problem(portable) is None
    monkeypatch.setattr(local_worker, "_amx_permitted", lambda: True)
    assert local_worker.runtime_problem(native) is None


def test_config_check_reports_a_runtime_problem(monkeypatch, capsys):
    """`config check` on the built-in local profile exits 2 when the runtime cannot run here."""
    monkeypatch.setattr(local, "runtime_problem", lambda: "built with AMX: reinstall it")
    assert main(["config", "check"]) == 2
    assert "embedded model: built with AMX: reinstall it" in capsys.readouterr().out
