"""The time a rating server acts on: an injectable clock and the one timestamp format it writes.

Reservations expire and votes are timed against `Clock`, a plain `() -> seconds since the
epoch`; tests pass a fake one to move time on. Timestamps are ISO 8601 UTC with
milliseconds, always from `stamp`, so they sort and compare as strings in SQL exactly as
the times they stand for (and a vote's seconds on an item are not rounded to whole seconds).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone

Clock = Callable[[], float]
system_clock: Clock = time.time


def stamp(seconds: float) -> str:
    """An epoch time as a sortable UTC timestamp: 2026-02-01T08:30:00.250+00:00."""
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds")


def stamp_seconds(text: str) -> float:
    """The epoch time of a timestamp written by `stamp` (or any ISO 8601 with an offset)."""
    return datetime.fromisoformat(text).timestamp()
