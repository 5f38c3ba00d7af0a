"""When to try again: exponential backoff with full jitter, inside a retry window."""

from __future__ import annotations

import random
from datetime import datetime
from datetime import timedelta

MAX_DELAY = timedelta(hours=12)


def next_attempt(
    attempts: int, now: datetime, started: datetime, *, base: float, window: float
) -> datetime | None:
    """The time of the next try after ``attempts`` failed ones, or None once the window
    (seconds since ``started``) is spent. Delay: ``base * 3**(attempts-1)`` capped at 12 h,
    jittered to 50–100 % so a recovering receiver is not hit by every retry at once.

    With the default 30 s base: 30 s, 1.5 min, 4.5 min, 13.5 min, 40 min, 2 h, 6 h, then
    every 12 h until about 3 days have passed (about 12 tries).
    """
    delay = min(base * 3 ** max(attempts - 1, 0), MAX_DELAY.total_seconds())
    delay *= random.uniform(0.5, 1.0)
    when = now + timedelta(seconds=delay)
    if when > started + timedelta(seconds=window):
        return None
    return when


def retry_later(row, now: datetime, started: datetime, *, base_setting: str) -> bool:
    """After a failed try of a queue row: schedule the next one (``next_attempt_at``), or
    mark it ``failed`` once the retry window is spent; answers True when it gave up."""
    from flask import current_app

    config = current_app.config
    row.next_attempt_at = next_attempt(
        row.attempts,
        now,
        started,
        base=config[base_setting],
        window=config["WEBHOOK_RETRY_WINDOW_SECONDS"],
    )
    if row.next_attempt_at is None:
        row.status = "failed"
        return True
    return False
