"""The embedded model runs in a worker process: a crash of the runtime (a real SIGSEGV in the
worker) ends as ABSTAIN ballots with the cause and where to look, exit 12, and in gate mode an
`error` status on the head, never a dead gate."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from conftest import DATA
from test_canary import HEAD, forgejo  # noqa: F401 - the fixture

import reviewgate.providers.local as local
from reviewgate.cli import main
from reviewgate.core.config import load_config
from reviewgate.providers import local_worker

pytest.importorskip("xllamacpp")  # the local extra: LocalProvider checks it is installed

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
    """The worker dies by SIGSEGV during the first request: every ballot abstains naming the
    signal and `config check`; the review exits 12 (quorum) and writes decision.json."""
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
        assert "reviewgate config check" in ballot["error"]


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


def test_the_model_loads_before_the_first_ballot_is_asked(runner, monkeypatch, tmp_path):
    """`review` warms the worker up once the diff is read: its first request is a warm-up
    naming the seats' model and context size, before the two hat requests; the warm-up's own
    answer is dropped, and each ballot gets its request's answer."""
    record = tmp_path / "requests.jsonl"
    monkeypatch.setenv("RECORD_REQUESTS", str(record))
    runner("recording")
    out = tmp_path / "decision.json"
    code = main(["review", "--diff", DIFF, "--title", "t", "--out", str(out), "--no-cache"])
    requests = [json.loads(line) for line in record.read_text().splitlines()]
    assert code == 0
    assert requests[0] == {"warm_up": True, "model": "gemma3-270m-q4_k_m", "n_ctx": 8192,
                           "seeds": None}
    assert [sorted(r["seeds"]) for r in requests[1:]] == [[1, 2, 3], [1, 2, 3]]
    assert all(not r["warm_up"] for r in requests[1:])
    assert [b["vote"] for b in json.loads(out.read_text())["ballots"]] == ["OK"] * 6


def test_a_worker_only_warmed_up_is_killed_at_exit(runner):
    """Nothing asked the model (every ballot cached, or nothing to review): at exit the
    worker is killed, not waited for, even while it is still loading."""
    runner("slow_load")
    seat = load_config(None).profile("local")[1].seats[0]
    local.warm_up([seat])
    worker = local._workers[local.RUNNER]
    local._stop_workers()
    assert worker.proc.exitcode == -signal.SIGKILL


def test_an_asked_worker_is_ended_by_closing_its_pipe(runner, tmp_path, monkeypatch):
    """A worker that answered ballots ends by itself when the gate closes its pipe (exit 0),
    not by a kill (the grace is long here: a loaded CI machine is slow to end a process)."""
    runner("answer_ok")
    monkeypatch.setattr(local, "STOP_GRACE_S", 60.0)
    code = main(["review", "--diff", DIFF, "--title", "t", "--out", str(tmp_path / "d.json"),
                 "--no-cache"])
    worker = local._workers[local.RUNNER]
    local._stop_workers()
    assert code == 0 and worker.proc.exitcode == 0


def test_a_stopped_worker_is_waited_for_by_one_thread_only():
    """Stopping a worker while its pipe reader sees the end of file: only one thread reaps the
    process, so its exit code is never lost (two concurrent waits race in waitpid; the loser
    saw ECHILD as "still running", signalled a pid already reaped and left the exit code None,
    in about one stop in eight here). Twenty stops in a row, each must show exit 0."""
    codes = []
    for _ in range(20):
        worker = local._Worker("crashing_model:answer_ok")
        worker.call({"seeds": [1]}, 30)
        worker.stop()
        codes.append(worker.proc.exitcode)
    assert codes == [0] * 20


@pytest.mark.parametrize("argv", [["review", "--diff", "missing.patch"],
                                  ["review", "--diff", DIFF, "--estimate"]])
def test_no_worker_starts_when_no_model_will_be_asked(runner, monkeypatch, tmp_path, argv):
    """A diff that cannot be read, or an estimate: no worker process, no model load."""
    monkeypatch.chdir(tmp_path)
    runner("slow_load")
    assert main(argv) in (0, 2)
    assert local._workers == {}


def test_a_cpu_the_runtime_cannot_run_on_is_named_before_loading(monkeypatch, tmp_path,
                                                                  capsys):
    """A CPU without AVX2 under the x86-64 wheel: the review stops with exit 2 naming it
    before any worker starts or anything native loads (no SIGILL, no ABSTAIN by crash)."""
    monkeypatch.setattr(local_worker, "_cpu_flags", lambda: {"sse3", "avx", "fma", "f16c"})
    monkeypatch.setattr(local_worker.platform, "machine", lambda: "x86_64")
    local._stop_workers()
    code = main(["review", "--diff", DIFF, "--title", "t", "--out", str(tmp_path / "d.json"),
                 "--no-cache"])
    assert code == 2
    assert "lacks AVX2, BMI2" in capsys.readouterr().err
    assert local._workers == {}


def test_the_worker_checks_the_cpu_before_importing_the_runtime(tmp_path):
    """In a fresh process: with a CPU that lacks AVX2 the worker's loader refuses with the
    reason, and xllamacpp was never imported (its native code never ran)."""
    code = ("import sys\n"
            "from reviewgate.providers import local_worker as w\n"
            "w._cpu_flags = lambda: {'avx', 'fma', 'f16c', 'bmi2'}\n"
            "w.platform.machine = lambda: 'x86_64'\n"
            "try:\n    w.load_server('gemma3-270m-q4_k_m', 2048)\n"
            "except Exception as exc:\n    print(type(exc).__name__, exc)\n"
            "print('xllamacpp' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert "UserError this CPU lacks AVX2" in out and out.strip().endswith("False")


def test_config_check_reports_a_runtime_problem(monkeypatch, capsys):
    """`config check` on the built-in local profile exits 2 when the runtime cannot run here."""
    monkeypatch.setattr(local, "runtime_problem", lambda: "this CPU lacks AVX2")
    assert main(["config", "check"]) == 2
    assert "embedded model: this CPU lacks AVX2" in capsys.readouterr().out
