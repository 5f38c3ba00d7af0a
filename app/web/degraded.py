"""Redis is optional at run time: when it cannot be reached each use degrades as the
README says ("Redis down"), logs one warning per use and interval, and counts it in
``gatehouse_redis_failures_total{use}`` on /metrics.

* rate limits (``rate_limits``): fail open to per-process counters;
* tenant configuration sync (``config_sync``): fail safe, snapshots are dropped and
  PostgreSQL is read (app/tenant_cache.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from flask import current_app
from flask import has_app_context

log = logging.getLogger("gatehouse.redis")

_EXT = "gatehouse.degraded"
LOG_EVERY_SECONDS = 30.0


class Degraded:
    def __init__(self):
        self.lock = threading.Lock()
        self.failures: Counter[str] = Counter()
        self.logged: dict[str, float] = {}

    def note(self, use: str, error: BaseException | None = None) -> None:
        now = time.monotonic()
        with self.lock:
            self.failures[use] += 1
            quiet = now - self.logged.get(use, -LOG_EVERY_SECONDS) < LOG_EVERY_SECONDS
            if not quiet:
                self.logged[use] = now
        if not quiet:
            reason = type(error).__name__ if error else "unreachable"
            log.warning("redis unavailable for %s (%s): degraded, see README", use, reason)

    def render(self) -> str:
        lines = [
            "# HELP gatehouse_redis_failures_total Operations that could not reach Redis, by use.",
            "# TYPE gatehouse_redis_failures_total counter",
        ]
        with self.lock:
            for use in (
                "config_sync",
                "rate_limits",
                *sorted(set(self.failures) - {"config_sync", "rate_limits"}),
            ):
                lines.append(f'gatehouse_redis_failures_total{{use="{use}"}} {self.failures[use]}')
        return "\n".join(lines) + "\n"


class _LimiterFallback(logging.Handler):
    """Flask-Limiter switches the hosted forms' throttles to in-memory counters by itself
    and says so in its log; count that switch as a ``rate_limits`` failure."""

    def emit(self, record: logging.LogRecord) -> None:
        if "falling back" in record.getMessage() and has_app_context():
            note("rate_limits")


def init_app(app) -> None:
    app.extensions[_EXT] = Degraded()
    limiter_log = logging.getLogger("flask-limiter")
    if not any(isinstance(h, _LimiterFallback) for h in limiter_log.handlers):
        limiter_log.addHandler(_LimiterFallback(logging.WARNING))


def note(use: str, error: BaseException | None = None) -> None:
    """Record that ``use`` could not reach Redis (inside an app context)."""
    current_app.extensions[_EXT].note(use, error)


def render() -> str:
    return current_app.extensions[_EXT].render()
