"""The gate fails closed: a demo profile, a cancelled run, a killed run and another actor's
status never read as a pass."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fake_forgejo import FakeForgejo
from loopback import Reply
from test_canary import CONTEXT, HEAD, canary, forgejo  # noqa: F401 - the fixture
from test_cli import serve, write_config
from test_providers_wire import openai_body

from reviewgate.gate import read_gate
from reviewgate.cli import main
from reviewgate.core.config import Config, builtin_local_profile, load_config
from reviewgate.forge import make_forge
from reviewgate.testing import verdict_json

ROOT = Path(__file__).parent.parent


def last_status(fake: FakeForgejo) -> dict:
    return fake.status_rows(HEAD)[-1]


def test_builtin_local_profile_is_a_demo_but_a_configured_one_is_not(tmp_path):
    """The built-in local profile is marked demo; a repository's own [profiles.local] is not."""
    assert Config().profile(None)[1].demo is True
    assert builtin_local_profile().demo is True
    path = tmp_path / "reviewgate.toml"
    path.write_text('[profiles.local]\n[[profiles.local.seats]]\nname = "g"\n'
                    'provider = "local"\nmodel = "gemma3-270m-q4_k_m"\n')
    assert load_config(path).profile("local")[1].demo is False


def test_demo_profile_never_posts_success(forgejo, loopback, tmp_path, capsys):  # noqa: F811
    """Six OK ballots from a demo profile: the status is error "no real reviewers", exit 12."""
    config = Path(write_config(tmp_path, loopback.url))
    config.write_text(config.read_text().replace("[profiles.canary]",
                                                 "[profiles.canary]\ndemo = true"))
    serve(loopback, {})
    assert canary(forgejo, str(config)) == 12
    row = last_status(forgejo)
    assert row["status"] == "error" and "no real reviewers configured" in row["description"]
    assert "GATE=error" in capsys.readouterr().out
    assert not any(r["status"] == "success" for r in forgejo.status_rows(HEAD))


def canary_while_seats_answer(forgejo, loopback, config: str) -> subprocess.Popen:  # noqa: F811
    """`reviewgate canary` on the Forgejo double's pull request 7 in its own process, returned
    once the first model request arrived (the seats are answering)."""
    env = {**os.environ, "REVIEWGATE_FORGE_TOKEN": "bot-token",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reviewgate.cli", "canary", "--forge", "forgejo", "--url",
         forgejo.url, "--repo", "owner/repo", "--pr", "7", "--config", config],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not loopback.requests_to("/v1/chat/completions"):
        time.sleep(0.05)
    return proc


def test_sigterm_during_review_posts_error(forgejo, loopback, tmp_path):  # noqa: F811
    """A cancelled job (SIGTERM while the models think) sets error with the reason, not pending."""
    config = write_config(tmp_path, loopback.url)
    # the seats' own timeout is longer than the answers' delay: only the signal can end the run,
    # however late a loaded machine delivers it
    Path(config).write_text(Path(config).read_text().replace("timeout_s = 5", "timeout_s = 120"))
    loopback.route("POST", "/v1/chat/completions",
                   lambda seen: Reply(200, openai_body(verdict_json()), delay=20))
    proc = canary_while_seats_answer(forgejo, loopback, config)
    try:
        assert forgejo.status_rows(HEAD)[-1]["status"] == "pending"
        proc.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        # about 1 s on an idle machine; the bound is for a runner busy with other test workers
        _, err = proc.communicate(timeout=90)
        ended = time.monotonic() - signalled
    finally:
        proc.kill()
    assert proc.returncode == 12, err
    # the run ends on the signal, not when the models answer (20 s): a cancellation made in
    # the handler while the loop slept in select() waited for the next socket event
    assert ended < 15, f"the canary took {ended:.0f} s to end after SIGTERM"
    row = last_status(forgejo)
    assert row["status"] == "error" and "cancelled (SIGTERM)" in row["description"]


class _CleanupReplaces:
    """A seat whose clean-up replaces whatever interrupts it by an ordinary error, as a
    library's cancel scope did ("Attempted to exit a cancel scope that isn't the current
    task's"): the signal arrives while its frame runs."""

    name = "scripted"
    schema_dialect = "strict"

    def __init__(self, first: bool):
        self.first = first

    def slot(self, hat=""):
        import contextlib
        return contextlib.nullcontext()

    async def complete(self, messages, *, schema, timeout_s, hat=""):
        import asyncio
        try:
            if self.first:
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(100_000):  # the handler runs between two of these bytecodes
                    pass
            await asyncio.sleep(5)
        finally:
            if self.first:
                raise RuntimeError("cancel scope exited in the wrong task")
        raise AssertionError("a seat outlived the cancelled run")


def test_sigterm_in_a_seats_frame_cancels_the_run_not_that_seat():
    """SIGTERM while the seats are asked ends the whole review (CancelledError with the
    signal's name), even when it lands in a frame whose clean-up turns an interrupt into an
    ordinary error that the seat's handler would take for one ABSTAIN."""
    import asyncio

    from reviewgate.cli.forge import _cancel_on_sigterm
    from reviewgate.context.packing import build_context
    from reviewgate.context.prompts import Prompter
    from reviewgate.core.changeset import ChangeSet
    from reviewgate.core.config import Profile, SeatConfig
    from reviewgate.ensemble.fanout import run_review

    seats = [SeatConfig(name=n, provider="openai-compatible", model="m", timeout_s=20)
             for n in "abc"]
    providers = {s.name: _CleanupReplaces(first=s.name == "a") for s in seats}
    pack = build_context(ChangeSet(title="t", diff="", files=[]), budget_tokens=1000, exclude=[])
    before = signal.getsignal(signal.SIGTERM)
    _cancel_on_sigterm()
    try:
        started = time.monotonic()
        try:
            asyncio.run(run_review(Profile(seats=seats, hats=["tech"]), pack,
                                   Prompter(nonce="n"), providers=providers))
        except asyncio.CancelledError as exc:
            assert exc.args == ("SIGTERM",)
        else:
            raise AssertionError("the review went on after SIGTERM")
        assert time.monotonic() - started < 5  # nobody waited for the seats' answers
    finally:
        signal.signal(signal.SIGTERM, before)


def test_stale_pending_reads_as_error(forgejo, capsys):  # noqa: F811
    """A pending older than [gate] pending_timeout_s (default 30 min) is a killed run: error."""
    forge = make_forge("forgejo", url=forgejo.url, repo="owner/repo", token="bot-token")
    forge.set_status(HEAD, state="pending", context=CONTEXT, description="reviewing")
    assert read_gate(forge, 7, CONTEXT).gate == "pending"
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=31)
    reading = read_gate(forge, 7, CONTEXT, now=later)
    assert reading.gate == "error" and not reading.passed
    assert "never finished" in reading.description
    forgejo.status_rows(HEAD)[-1]["created_at"] = "2020-01-01T00:00:00Z"
    assert main(["gate-status", "--forge", "forgejo", "--url", forgejo.url, "--repo",
                 "owner/repo", "--pr", "7"]) == 14
    assert "GATE=error" in capsys.readouterr().out


def test_another_actors_success_does_not_pass(forgejo, capsys):  # noqa: F811
    """A success in our context posted by someone else (not the bot) is ignored."""
    bot = make_forge("forgejo", url=forgejo.url, repo="owner/repo", token="bot-token")
    bot.set_status(HEAD, state="failure", context=CONTEXT, description="defer · Tech: 1/3 OK")
    forgejo.tokens["maintainer-token"] = "maintainer"
    other = make_forge("forgejo", url=forgejo.url, repo="owner/repo", token="maintainer-token")
    other.set_status(HEAD, state="success", context=CONTEXT, description="merge · trust me")
    assert read_gate(bot, 7, CONTEXT).gate == "defer"
    assert main(["gate-status", "--forge", "forgejo", "--url", forgejo.url, "--repo",
                 "owner/repo", "--pr", "7"]) == 14
    out = capsys.readouterr().out
    assert "GATE=defer" in out
    # with only the foreign row, the gate is missing, not merge
    forgejo.statuses[HEAD] = [r for r in forgejo.status_rows(HEAD)
                              if r["creator"]["login"] != "reviewbot"]
    assert read_gate(bot, 7, CONTEXT).gate == "missing"
