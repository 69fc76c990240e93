"""The verdict cache: a ballot already paid for is not paid again.

An embedded SQLite store (stdlib ``sqlite3``, write-ahead log, safe for several processes at
once) maps a key to a recorded ballot. The key is the sha256 of the seat's whole configuration
(provider, model, endpoint, sampling, limits), the hat and the exact prompt sent (with the
per-run fence nonce normalised), so it changes whenever the diff, the title, the description,
a persona, a template or a setting does. Only ballots with a valid verdict are stored: a
timeout or an error is tried again next time.

The cache is optional at every step, not only when it opens: a store that cannot be opened,
read, written or closed (a file of garbage or truncated, a read-only file, a database locked
by another process for longer than :data:`LOCK_TIMEOUT_S`, a full disk) switches the cache off
for the rest of the run, and an entry that cannot be read back is a miss; each is one line in
:attr:`VerdictCache.warnings`, which the run copies into its record. A review never fails for
want of a cache.

Location: ``cache_dir`` in the configuration, else ``REVIEWGATE_CACHE_DIR``, else
``$XDG_CACHE_HOME/reviewgate`` (``~/.cache/reviewgate``); the file is ``verdicts.sqlite3``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pydantic import ValidationError
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_random

from ..core.config import SeatConfig
from ..core.errors import redact
from ..core.verdict import Ballot

__all__ = ["LOCK_TIMEOUT_S", "VerdictCache", "ballot_key", "default_cache_dir"]

_SCHEMA = 1

#: Seconds one read or write waits for another process's lock before the cache is switched off.
LOCK_TIMEOUT_S = 10.0
#: Seconds the opening retries switching a new file to the write-ahead log (an exclusive lock
#: SQLite's busy timeout does not wait for).
OPEN_RETRY_S = 10.0

#: What a failing store raises: SQLite's errors (malformed, read-only, locked, full) and the
#: file system's (the folder cannot be created).
_STORE_ERRORS = (sqlite3.Error, OSError)


def default_cache_dir() -> Path:
    """``REVIEWGATE_CACHE_DIR``, else ``$XDG_CACHE_HOME/reviewgate``, else
    ``~/.cache/reviewgate``."""
    explicit = os.environ.get("REVIEWGATE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reviewgate"


def ballot_key(seat: SeatConfig, hat: str, messages: list[dict[str, str]], nonce: str) -> str:
    """The cache key of one (seat, hat) ballot for these exact messages (hex sha256)."""
    normal = [{k: v.replace(nonce, "NONCE") for k, v in m.items()} for m in messages]
    data = json.dumps({"v": _SCHEMA, "seat": seat.model_dump(mode="json"), "hat": hat,
                       "messages": normal}, sort_keys=True)
    return hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()


class VerdictCache:
    """Ballots by key in ``directory / "verdicts.sqlite3"``; no method raises.

    The first failure of the store (see the module docstring) closes it and turns every later
    call into a no-op (:meth:`get` answers None); it and every unreadable entry add a line to
    :attr:`warnings`. Safe to call from several threads (one lock per cache).

    Args:
        directory: the folder of the database file (created when missing).

    Attributes:
        path: the database file.
        warnings: what went wrong, one line each, redacted (for the record's ``warnings``).
    """

    def __init__(self, directory: Path):
        self.path = directory / "verdicts.sqlite3"
        self.warnings: list[str] = []
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        with self._store("open"):
            directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT_S,
                                       check_same_thread=False)
            # rows come back as bytes: text that is not UTF-8 is a bad entry, not a failure
            self._db.text_factory = bytes
            # Switching to WAL takes an exclusive lock that SQLite's busy timeout does not wait
            # for: two processes opening a new file at once retry it briefly.
            for attempt in Retrying(retry=retry_if_exception_type(sqlite3.OperationalError),
                                    stop=stop_after_delay(OPEN_RETRY_S),
                                    wait=wait_random(0.01, 0.1), reraise=True):
                with attempt:
                    self._db.execute("PRAGMA journal_mode=WAL")
                    self._db.execute("CREATE TABLE IF NOT EXISTS ballots (key TEXT PRIMARY KEY, "
                                     "ballot TEXT NOT NULL, stored_at REAL NOT NULL)")
                    self._db.commit()

    @property
    def enabled(self) -> bool:
        """True while the store works (False after any failure, or after :meth:`close`)."""
        return self._db is not None

    @contextmanager
    def _store(self, step: str) -> Iterator[None]:
        """Run one step on the store; a failure switches the cache off with a warning."""
        try:
            yield
        except _STORE_ERRORS as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            self.warnings.append(redact(
                f"verdict cache off for the rest of this run: cannot {step} {self.path}: "
                f"{reason[:200]}"))
            db, self._db = self._db, None
            if db is not None:
                try:
                    db.close()
                except _STORE_ERRORS:
                    pass

    def get(self, key: str) -> Ballot | None:
        """The stored ballot for ``key``, or None: not stored, the cache is off, or the entry
        cannot be read back as a ballot with a valid verdict (a warning; it counts as
        missing and the next :meth:`put` replaces it)."""
        with self._lock:
            row = None
            with self._store("read"):
                if self._db is not None:
                    row = self._db.execute("SELECT ballot FROM ballots WHERE key = ?",
                                           (key,)).fetchone()
        if row is None:
            return None
        ballot = _ballot(row[0])
        if ballot is None:
            warning = (f"verdict cache: the entry {key[:12]} could not be read back as a "
                       "ballot; it counts as missing")
            with self._lock:
                if warning not in self.warnings:  # the estimate reads it first, then the run
                    self.warnings.append(warning)
        return ballot

    def put(self, key: str, ballot: Ballot) -> None:
        """Store a ballot with a valid verdict (others are ignored; nothing when off)."""
        if ballot.abstained or ballot.verdict is None:
            return
        try:
            text = ballot.model_dump_json()
        except ValueError:  # text pydantic cannot serialise (lone surrogates): not cached
            return
        with self._lock, self._store("write"):
            if self._db is not None:
                with self._db:
                    self._db.execute("INSERT OR REPLACE INTO ballots VALUES (?, ?, ?)",
                                     (key, text, time.time()))

    def close(self) -> None:
        """Close the database (a failure is a warning; closing twice is a no-op)."""
        with self._lock, self._store("close"):
            db, self._db = self._db, None
            if db is not None:
                db.close()


def _ballot(value: object) -> Ballot | None:
    """A stored value as a ballot with a valid verdict (its vote the verdict's), else None."""
    if not isinstance(value, (bytes, str)):
        return None
    try:
        ballot = Ballot.model_validate_json(value)
    except (ValidationError, ValueError):
        return None
    if ballot.abstained or ballot.verdict is None or ballot.vote != ballot.verdict.vote:
        return None
    return ballot
