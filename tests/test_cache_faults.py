"""A damaged, read-only, locked or full verdict cache: every failure is a warning in the run's
output and the review goes on without the cache (it never fails for want of one)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from test_cache import model_calls
from test_canary import HEAD, canary, forgejo, ours  # noqa: F401 - the fixture
from test_cli import review, serve, write_config

from reviewgate.cli import main
from reviewgate.core.verdict import Ballot, Verdict
from reviewgate.ensemble import cache as cache_module
from reviewgate.ensemble.cache import VerdictCache

OTHER_DIFF = "requests-7328-redirect-history"
SSL_DIFF = Path(__file__).parent / "data" / "requests-6667-ssl-context" / "diff.patch"
REAL_CONNECT = sqlite3.connect


def cache_file() -> Path:
    """This test's cache database (the autouse fixture points REVIEWGATE_CACHE_DIR at it)."""
    return Path(os.environ["REVIEWGATE_CACHE_DIR"]) / "verdicts.sqlite3"


def filled(rows: int = 400) -> Path:
    """A cache holding ``rows`` ballots under unrelated keys (enough pages to cut some off)."""
    verdict = Verdict(vote="OK", confidence=0.5, summary="s", risks=[], opportunities=[],
                      split=False, suggested_split=[], questions=[])
    cache = VerdictCache(cache_file().parent)
    for i in range(rows):
        cache.put(f"filler-{i:04d}", Ballot(seat="s", hat="h", provider="p", model="m",
                                            vote="OK", verdict=verdict, raw="r" * 300))
    cache.close()
    db = REAL_CONNECT(cache_file())
    assert db.execute("SELECT count(*) FROM ballots").fetchone() == (rows,)
    db.close()
    return cache_file()


def truncate(db: Path) -> None:
    """Cut the file to its first half, its header's page count (bytes 28-31) agreeing, as the
    first pages of a copy cut short: it opens, and reading a page past the end fails
    ("database disk image is malformed")."""
    data = bytearray(db.read_bytes())
    pages = len(data) // 4096 // 2
    data[28:32] = pages.to_bytes(4, "big")
    db.write_bytes(bytes(data[:pages * 4096]))


def zero_pages(db: Path) -> None:
    """Overwrite every page but the first (the schema) with zeros: a damaged table."""
    data = db.read_bytes()
    db.write_bytes(data[:4096] + bytes(len(data) - 4096))


def connect_with(monkeypatch: pytest.MonkeyPatch, *pragmas: str, read_only: bool = False):
    """Open every cache database read-only (``mode=ro``, which holds for root too, unlike a
    chmod) and/or run ``pragmas`` on each new connection."""
    def connect(path, *args, **kwargs):
        if read_only:
            db = REAL_CONNECT(f"file:{path}?mode=ro", *args, uri=True, **kwargs)
        else:
            db = REAL_CONNECT(path, *args, **kwargs)
        for pragma in pragmas:
            db.execute(pragma)
        return db
    monkeypatch.setattr(sqlite3, "connect", connect)


def assert_reviewed_with_warning(code: int, record: dict | None, capsys, loopback, *,
                                 calls: int, says: str) -> None:
    """The run decided as usual, asked the models, and told what happened to the cache in
    decision.json, the markdown output (the comment's warnings section) and stderr."""
    out = capsys.readouterr()
    assert code == 0, out.err
    assert record is not None and record["decision"]["decision"] == "merge"
    assert model_calls(loopback) == calls
    warnings = [w for w in record["warnings"] if w.startswith("verdict cache")]
    assert warnings and says in warnings[0], record["warnings"]
    assert "### Warnings" in out.out and says in out.out
    assert f"warning: {warnings[0]}" in out.err
    assert "Traceback" not in out.err and "internal error" not in out.err


@pytest.mark.parametrize("damage, says", [
    (lambda db: db.write_bytes(b"this is not a database " * 400), "file is not a database"),
    (lambda db: db.mkdir(), "unable to open database file"),
    (lambda db: truncate(filled()), "database disk image is malformed"),
    (lambda db: zero_pages(filled()), "database disk image is malformed"),
], ids=["garbage-bytes", "directory-in-place", "truncated", "zeroed-pages"])
def test_damaged_cache_is_a_warning_and_the_review_goes_on(tmp_path, loopback, capsys,
                                                           damage, says):
    """A cache file of garbage bytes, a folder where the file should be, a truncated database
    and one with zeroed pages: all six ballots are asked, the decision is made, and the run
    says the cache was off and why."""
    cache_file().parent.mkdir(parents=True, exist_ok=True)
    damage(cache_file())
    code, record = review(tmp_path, loopback, {})
    assert_reviewed_with_warning(code, record, capsys, loopback, calls=6, says=says)


def test_damaged_cache_estimate_warns_and_counts_nothing_cached(tmp_path, loopback, capsys):
    """--estimate on a truncated cache: every row priced (nothing counts as cached), one
    warning on stderr, exit 0."""
    truncate(filled())
    config = write_config(tmp_path, loopback.url)
    assert main(["review", "--diff", str(SSL_DIFF), "--title", "t", "--config", config,
                 "--estimate"]) == 0
    out = capsys.readouterr()
    assert "in the verdict cache" not in out.out
    assert "warning: verdict cache off" in out.err and "malformed" in out.err


def test_read_only_cache_serves_hits_and_warns_on_the_first_write(tmp_path, loopback, capsys,
                                                                  monkeypatch):
    """A cache that can only be read (opened ``mode=ro``): an unchanged diff still costs
    nothing; a new diff pays its six ballots and the failed write is a warning, not
    ``attempt to write a readonly database`` after the ballots were paid for."""
    review(tmp_path, loopback, {})
    capsys.readouterr()
    connect_with(monkeypatch, read_only=True)
    code, record = review(tmp_path, loopback, {})
    assert code == 0 and record["usage"]["cached_ballots"] == 6 and record["warnings"] == []
    assert model_calls(loopback) == 6
    capsys.readouterr()
    code, record = review(tmp_path, loopback, {}, diff=OTHER_DIFF)
    assert_reviewed_with_warning(code, record, capsys, loopback, calls=12,
                                 says="cannot write")
    assert "attempt to write a readonly database" in record["warnings"][0]
    assert sum("verdict cache" in w for w in record["warnings"]) == 1  # off after the first


def test_full_disk_is_a_warning(tmp_path, loopback, capsys, monkeypatch):
    """A store that cannot grow (``max_page_count`` at its size: SQLite's 'database or disk is
    full'): the new ballots are paid and decided, the cache is off with a warning."""
    review(tmp_path, loopback, {})
    capsys.readouterr()
    connect_with(monkeypatch, "PRAGMA max_page_count = 1")  # never below the current size
    code, record = review(tmp_path, loopback, {}, diff=OTHER_DIFF)
    assert_reviewed_with_warning(code, record, capsys, loopback, calls=12,
                                 says="database or disk is full")


def test_locked_cache_is_a_warning_after_the_lock_timeout(tmp_path, loopback, capsys,
                                                          monkeypatch):
    """Another process holds the write lock for the whole run: the reads go on (write-ahead
    log), the first write waits :data:`LOCK_TIMEOUT_S` and switches the cache off."""
    monkeypatch.setattr(cache_module, "LOCK_TIMEOUT_S", 0.2, raising=False)
    review(tmp_path, loopback, {})
    capsys.readouterr()
    holder = REAL_CONNECT(cache_file(), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        code, record = review(tmp_path, loopback, {}, diff=OTHER_DIFF)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_reviewed_with_warning(code, record, capsys, loopback, calls=12,
                                 says="database is locked")


def test_corrupted_rows_count_as_missing_and_are_replaced(tmp_path, loopback, capsys):
    """Rows that are not UTF-8, not a ballot, or a ballot without a verdict: each is a miss
    with a warning, the ballot is asked again and its row replaced; the next run is all hits."""
    review(tmp_path, loopback, {})
    db = REAL_CONNECT(cache_file())
    keys = [k for (k,) in db.execute("SELECT key FROM ballots ORDER BY key")]
    assert len(keys) == 6
    bad = [b"\xff\xfe not utf-8", b'{"not": "a ballot"}', b"[1, 2",
           b'{"seat": "a", "hat": "tech", "provider": "p", "model": "m", "vote": "OK"}',
           b'{"seat": "a", "hat": "tech", "provider": "p", "model": "m", "vote": "ABSTAIN"}']
    with db:
        for key, text in zip(keys, bad, strict=False):
            db.execute("UPDATE ballots SET ballot = CAST(? AS TEXT) WHERE key = ?", (text, key))
        db.execute("UPDATE ballots SET ballot = 42 WHERE key = ?", (keys[5],))
    db.close()
    capsys.readouterr()
    code, record = review(tmp_path, loopback, {})
    assert_reviewed_with_warning(code, record, capsys, loopback, calls=12,
                                 says="could not be read back")
    assert sum("could not be read back" in w for w in record["warnings"]) == 6
    code, record = review(tmp_path, loopback, {})
    assert code == 0 and record["usage"]["cached_ballots"] == 6 and record["warnings"] == []
    assert model_calls(loopback) == 12


def test_every_method_is_a_no_op_after_a_failure(tmp_path, monkeypatch):
    """After the first failure the cache is off: get answers None, put and close do nothing,
    and exactly one warning names the step; closing twice is fine."""
    verdict = Verdict(vote="OK", confidence=0.5, summary="s", risks=[], opportunities=[],
                      split=False, suggested_split=[], questions=[])
    ballot = Ballot(seat="s", hat="h", provider="p", model="m", vote="OK", verdict=verdict)
    cache = VerdictCache(tmp_path)
    cache.put("k", ballot)
    cache.close()
    connect_with(monkeypatch, read_only=True)
    cache = VerdictCache(tmp_path)
    assert cache.get("k") is not None and cache.enabled
    cache.put("other", ballot)
    assert not cache.enabled and cache.get("k") is None
    cache.put("third", ballot)
    cache.close()
    cache.close()
    assert len(cache.warnings) == 1 and "cannot write" in cache.warnings[0]


def test_cache_warning_reaches_the_decision_comment(forgejo, loopback, tmp_path):  # noqa: F811
    """In gate mode the cache's warning is in the posted decision comment's warnings."""
    cache_file().parent.mkdir(parents=True, exist_ok=True)
    cache_file().write_bytes(b"garbage " * 500)
    serve(loopback, {})
    assert canary(forgejo, write_config(tmp_path, loopback.url)) == 0
    decision = [c["body"] for c in ours(forgejo) if "reviewgate:decision" in c["body"]]
    assert len(decision) == 1
    assert "### Warnings" in decision[0] and "verdict cache off" in decision[0]
    assert forgejo.status_rows(HEAD)[-1]["status"] == "success"
