"""The verdict cache: a ballot already paid for is not paid again.

An embedded SQLite store (stdlib ``sqlite3``, write-ahead log, safe for several processes at
once) maps a key to a recorded ballot. The key is the sha256 of the seat's whole configuration
(provider, model, endpoint, sampling, limits), the hat and the exact prompt sent (with the
per-run fence nonce normalised), so it changes whenever the diff, the title, the description,
a persona, a template or a setting does. Only ballots with a valid verdict are stored: a
timeout or an error is tried again next time.

Location: ``cache_dir`` in the configuration, else ``REVIEWGATE_CACHE_DIR``, else
``$XDG_CACHE_HOME/reviewgate`` (``~/.cache/reviewgate``); the file is ``verdicts.sqlite3``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path

from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_random

from ..core.config import SeatConfig
from ..core.verdict import Ballot

__all__ = ["VerdictCache", "ballot_key", "default_cache_dir"]

_SCHEMA = 1


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
    """Ballots by key in ``directory / "verdicts.sqlite3"``.

    Raises:
        OSError: the directory cannot be created.
    """

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "verdicts.sqlite3"
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        # Switching to WAL takes an exclusive lock that SQLite's busy timeout does not wait
        # for: two processes opening a new file at once retry it briefly.
        for attempt in Retrying(retry=retry_if_exception_type(sqlite3.OperationalError),
                                stop=stop_after_delay(10), wait=wait_random(0.01, 0.1),
                                reraise=True):
            with attempt:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("CREATE TABLE IF NOT EXISTS ballots (key TEXT PRIMARY KEY, "
                                 "ballot TEXT NOT NULL, stored_at REAL NOT NULL)")
                self._db.commit()

    def get(self, key: str) -> Ballot | None:
        """The stored ballot, or None (also when the row cannot be read any more)."""
        row = self._db.execute("SELECT ballot FROM ballots WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return Ballot.model_validate_json(row[0])
        except ValueError:
            return None

    def put(self, key: str, ballot: Ballot) -> None:
        """Store a ballot with a valid verdict (others are ignored)."""
        if ballot.abstained or ballot.verdict is None:
            return
        try:
            text = ballot.model_dump_json()
        except ValueError:  # text pydantic cannot serialise (lone surrogates): not cached
            return
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO ballots VALUES (?, ?, ?)",
                             (key, text, time.time()))

    def close(self) -> None:
        """Close the database."""
        self._db.close()
