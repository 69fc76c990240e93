"""Time stamps as the forges write them (RFC 3339, ``...Z`` or with an offset). Stdlib only."""

from __future__ import annotations

import datetime as dt

__all__ = ["age_s", "now_iso", "parse_time"]


def now_iso() -> str:
    """The current UTC time, to the second, as RFC 3339 (``2026-12-03T08:00:00+00:00``)."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def parse_time(stamp: str | None) -> dt.datetime | None:
    """An RFC 3339 time stamp as an aware datetime (UTC when it names no zone); None when
    missing or unreadable."""
    if not stamp or not isinstance(stamp, str):
        return None
    try:
        when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def age_s(stamp: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds from ``stamp`` to ``now`` (default: the current time); None when unreadable."""
    when = parse_time(stamp)
    if when is None:
        return None
    return ((now or dt.datetime.now(dt.timezone.utc)) - when).total_seconds()
