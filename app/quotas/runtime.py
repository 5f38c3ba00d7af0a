"""The per-app quota runtime: the counter store, the usage counts waiting to be pushed to
it, and the background pusher. Created by :func:`init_app`; read with :func:`runtime`."""

from __future__ import annotations

import threading
import time
from collections import Counter

from flask import Flask
from flask import current_app

from app.quotas import defaults_from
from app.quotas.store import LocalStore
from app.quotas.store import RedisStore

_EXT = "gatehouse.quotas"


class Runtime:
    """What one app object (one worker process) keeps for quotas and usage."""

    def __init__(self, app: Flask, store, *, push_interval: float, flush_interval: float):
        self.app = app
        self.store = store
        self.push_interval = push_interval
        self.flush_interval = flush_interval
        self.defaults = defaults_from(app.config.get("TENANT_QUOTA_DEFAULTS"))
        self.blocked: dict[str, float] = {}  # tenant id -> monotonic time its bucket frees
        self.noted: dict[str, float] = {}  # notice key -> until when this window is noted
        self._pending: Counter = Counter()  # (day, tenant, metric) -> n, not yet in the store
        self._lock = threading.Lock()
        self._next_push = 0.0
        self._next_flush = 0.0
        self._thread: threading.Thread | None = None

    def count(self, key: tuple[str, str, str], n: int = 1) -> None:
        """Add ``n`` to a usage counter: in memory now, in the shared store within
        ``USAGE_PUSH_INTERVAL`` (no round trip per request)."""
        if self._thread is None:
            self._start_background()
        if not self.store.shared:
            self.store.add_one(key, n)
            return
        with self._lock:
            self._pending[key] += n
        if time.monotonic() >= self._next_push:
            self.push()

    def push(self) -> None:
        """Move this process' pending usage counts into the shared store."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
            self._next_push = time.monotonic() + self.push_interval
        if pending:
            self.store.add_usage(pending)

    def flush_due(self) -> bool:
        """True (once per ``USAGE_FLUSH_INTERVAL``) when this process should flush."""
        now = time.monotonic()
        with self._lock:
            if now < self._next_flush:
                return False
            self._next_flush = now + self.flush_interval
            return True

    def _start_background(self) -> None:
        """A daemon thread per process: pushes pending counts, and (without Redis, where
        nobody else can see this process' counters) flushes them to the database."""
        if self._thread is not None or not self.app.config.get("USAGE_BACKGROUND", True):
            return
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._background, name="gatehouse-usage", daemon=True
            )
            self._thread.start()

    def _background(self) -> None:
        from app.services import usage

        tick = max(min(self.push_interval, self.flush_interval), 0.5)
        while True:
            time.sleep(tick)
            try:
                if self.store.shared:
                    self.push()
                elif self.flush_due():
                    with self.app.app_context():
                        usage.flush()
            except Exception:  # noqa: BLE001 - try again next tick
                import logging

                logging.getLogger("gatehouse.quotas").exception("usage push/flush failed")


def runtime() -> Runtime:
    return current_app.extensions[_EXT]


def runtime_or_none() -> Runtime | None:
    try:
        return current_app.extensions.get(_EXT)
    except RuntimeError:  # outside an app context
        return None


def _redis_client(app: Flask, url: str):
    """The rate limiter's Redis connection when it uses the same URL (one pool), else
    a client with the same short timeouts as the configuration stream."""
    from limits.storage import RedisStorage

    from app.extensions import limiter

    try:
        storage = limiter.storage
    except AssertionError:
        storage = None
    if isinstance(storage, RedisStorage) and app.config.get("RATELIMIT_STORAGE_URI") == url:
        return storage.get_connection()
    import redis

    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    if url:
        prefix = app.config.get("QUOTA_KEY_PREFIX", "gatehouse:")
        store = RedisStore(_redis_client(app, url), prefix)
    else:
        store = LocalStore()
    app.extensions[_EXT] = Runtime(
        app,
        store,
        push_interval=float(app.config.get("USAGE_PUSH_INTERVAL", 1.0)),
        flush_interval=float(app.config.get("USAGE_FLUSH_INTERVAL", 60.0)),
    )
