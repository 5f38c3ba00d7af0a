"""Per-worker tenant snapshots (app/tenant_snapshot.py), kept coherent across workers and
instances by a per-tenant configuration version.

* **Bump.** A flush that inserts, changes or deletes a tenant, custom domain, client,
  signing key, API resource, role permission or client resource grant runs
  ``UPDATE tenants SET config_version = config_version + 1, config_changed_at = now`` for
  the tenants concerned, in the same transaction.
* **This process** drops those snapshots when the transaction commits.
* **Other workers and instances** see the change within about a second
  (``TENANT_SYNC_INTERVAL``, 0.5 s), checked at most once per interval per worker, at the
  start of a request, never more than one round trip per interval:
  - with ``REDIS_URL``: after the commit, an entry on the Redis stream
    ``gatehouse:tenant-config``; each worker reads the entries after the last one it saw
    (``XREAD``, non-blocking). A publish can be lost (Redis down at that moment, the
    process killed between COMMIT and XADD), so every ``TENANT_SYNC_BACKSTOP`` seconds
    (30) the worker also runs the database poll below: a lost publish leaves a worker
    stale for at most that long, never forever;
  - without: each worker polls ``tenants`` for versions changed in the last
    ``POLL_LOOKBACK`` seconds (an indexed column; the look-back covers commit delays
    and clock skew between hosts) and drops the snapshots whose version is older.
  When the check itself fails (Redis or the database unreachable) the worker drops every
  snapshot: it never serves a configuration it could not confirm.
* ``TENANT_CACHE_TTL`` (default 3600 s) only bounds how long an untouched snapshot
  lives; ``0`` turns the cache off (every request reads the tenant).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import OrderedDict
from datetime import timedelta

from flask import Flask
from flask import current_app
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.models import SYSTEM_SLUG
from app.models import Client
from app.models import ClientResourceGrant
from app.models import Connection
from app.models import CustomDomain
from app.models import Resource
from app.models import RolePermission
from app.models import SigningKey
from app.models import Tenant
from app.models import TenantLogo
from app.models import UpstreamProvider
from app.models.base import utcnow
from app.tenant_snapshot import TenantSnapshot

log = logging.getLogger("gatehouse.tenant_cache")

_EXT = "gatehouse.tenant_cache"
_CHANGED = "gatehouse.tenants_changed"
# API resources, role permissions and client grants are on the snapshot too
# (app/services/resource_config.py), and what the sign-in pages show of upstream providers
# and enterprise connections (app/services/providers.py, connections.py).
CONFIG_MODELS = (
    Tenant,
    CustomDomain,
    Client,
    SigningKey,
    Resource,
    RolePermission,
    ClientResourceGrant,
    TenantLogo,
    UpstreamProvider,
    Connection,
)
STREAM = "gatehouse:tenant-config"
STREAM_MAXLEN = 100_000
POLL_LOOKBACK = timedelta(seconds=30)

# Every cache of this process (one per app object): a commit drops its tenants in all.
_CACHES: weakref.WeakSet = weakref.WeakSet()


class TenantCache:
    """Tenant snapshots by id, and (host, path slug) → tenant id; LRU-bounded."""

    def __init__(self, ttl: float, maxsize: int, sync: ConfigSync):
        self.ttl = ttl
        self.maxsize = maxsize
        self.sync = sync
        self._snapshots: OrderedDict[str, TenantSnapshot] = OrderedDict()
        self._routes: dict = {}  # (host, slug) → tenant id
        self._routes_of: dict[str, set] = {}  # tenant id → its route keys
        # tenant id → when its snapshot was last dropped (monotonic): a snapshot whose
        # read began before that may predate the change, and is not kept.
        self._dropped_at: dict[str, float] = {}
        self._lock = threading.Lock()
        _CACHES.add(self)

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def __len__(self) -> int:
        return len(self._snapshots)

    def get(self, key) -> TenantSnapshot | None:
        """The snapshot a request for ``key`` (host, path slug) resolves to, or None."""
        if not self.enabled:
            return None
        with self._lock:
            tenant_id = self._routes.get(key)
            snapshot = self._snapshots.get(tenant_id) if tenant_id else None
            if snapshot is None:
                return None
            if snapshot.built_at + self.ttl < time.monotonic():
                self._drop(tenant_id)
                return None
            self._snapshots.move_to_end(tenant_id)
            return snapshot

    def by_id(self, tenant_id: str) -> TenantSnapshot | None:
        with self._lock:
            return self._snapshots.get(tenant_id)

    def put(self, key, snapshot: TenantSnapshot, read_from: float | None = None) -> None:
        """Keep ``snapshot`` for requests to ``key``. ``read_from``: when its read began
        (monotonic); if the tenant was dropped since, another thread heard of a change
        the read may have missed, so the snapshot serves its own request only."""
        if not self.enabled:
            return
        with self._lock:
            dropped = self._dropped_at.get(snapshot.id)
            if dropped is not None and read_from is not None and read_from <= dropped:
                return
            current = self._snapshots.get(snapshot.id)
            if current is None or current.version < snapshot.version:
                self._snapshots[snapshot.id] = snapshot
            self._snapshots.move_to_end(snapshot.id)
            self._routes[key] = snapshot.id
            self._routes_of.setdefault(snapshot.id, set()).add(key)
            while len(self._snapshots) > self.maxsize:
                oldest, _ = self._snapshots.popitem(last=False)
                self._drop(oldest)

    def tenant_ids(self) -> list[str]:
        with self._lock:
            return list(self._snapshots)

    def version_of(self, tenant_id: str) -> int | None:
        snapshot = self._snapshots.get(tenant_id)
        return snapshot.version if snapshot is not None else None

    def invalidate(self, tenant_ids) -> None:
        now = time.monotonic()
        with self._lock:
            for tenant_id in tenant_ids:
                self._drop(tenant_id)
                self._dropped_at[tenant_id] = now
            if len(self._dropped_at) > self.maxsize:  # only recent drops matter
                horizon = now - 60.0
                self._dropped_at = {t: at for t, at in self._dropped_at.items() if at > horizon}

    def _drop(self, tenant_id: str) -> None:
        self._snapshots.pop(tenant_id, None)
        for key in self._routes_of.pop(tenant_id, ()):
            if self._routes.get(key) == tenant_id:
                del self._routes[key]

    def clear(self) -> None:
        now = time.monotonic()
        with self._lock:
            for tenant_id in self._snapshots:
                self._dropped_at[tenant_id] = now
            self._snapshots.clear()
            self._routes.clear()
            self._routes_of.clear()


# --- cross-worker coherence ---------------------------------------------------------------


class ConfigSync:
    """Checks, at most once per ``interval``, what other workers changed."""

    def __init__(self, mode: str, interval: float, redis_url: str | None, backstop: float = 30.0):
        self.mode = mode  # "redis", "poll" or "local"
        self.interval = interval
        self.backstop = backstop  # redis mode: seconds between database polls (0: none)
        self._next_backstop = time.monotonic() + backstop
        self.redis_url = redis_url
        self._redis = None
        self._last_id: str | None = None
        self._polled_since = utcnow()
        self._system_version: int | None = None
        self._next_check = 0.0
        self._lock = threading.Lock()

    def maybe_check(self, cache: TenantCache) -> None:
        """Apply other workers' changes if the interval has passed (one round trip)."""
        if self.mode == "local" or not cache.enabled:
            return
        now = time.monotonic()
        if now < self._next_check or not self._lock.acquire(blocking=False):
            return
        try:
            if now < self._next_check:
                return
            self._next_check = now + self.interval
            try:
                if self.mode == "redis":
                    self._read_stream(cache)
                    if self.backstop > 0 and now >= self._next_backstop:
                        self._next_backstop = now + self.backstop
                        self._poll(cache)  # whatever a lost publish did not say
                else:
                    self._poll(cache)
            except Exception as exc:  # noqa: BLE001 - cannot confirm: trust nothing
                cache.clear()
                self._last_id = None
                if self.mode == "redis":  # issue #16: a metric, and a warning now and then
                    from app.web import degraded

                    degraded.note("config_sync", exc)
                else:
                    log.warning(
                        "tenant configuration check failed; dropping snapshots", exc_info=True
                    )
        finally:
            self._lock.release()

    def _poll(self, cache: TenantCache) -> None:
        from app.extensions import db

        started = utcnow()
        tenants = Tenant.__table__.c  # the version columns are not mapped
        stmt = select(tenants.id, tenants.config_version, tenants.slug).where(
            (tenants.config_changed_at >= self._polled_since - POLL_LOOKBACK)
            | (tenants.slug == SYSTEM_SLUG)
        )
        with db.engine.connect() as connection:
            rows = connection.execute(stmt).all()
            stale = [tid for tid, ver, _ in rows if (cache.version_of(tid) or ver) < ver]
            system = [version for _, version, slug in rows if slug == SYSTEM_SLUG]
            if system and system[0] != self._system_version:
                if self._system_version is not None:
                    stale += _missing(connection, cache.tenant_ids())
                self._system_version = system[0]
        self._polled_since = started
        if stale:
            cache.invalidate(stale)

    def _client(self):
        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(
                self.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
            )
        return self._redis

    def _read_stream(self, cache: TenantCache) -> None:
        client = self._client()
        if self._last_id is None:
            # Start (again) from the newest entry; whatever came before is already in
            # snapshots built after it, or dropped by the clear that reset _last_id.
            newest = client.xrevrange(STREAM, count=1)
            self._last_id = newest[0][0].decode() if newest else "0-0"
            # Issue #16: snapshots built while the stream could not be read may predate a
            # change whose announcement was lost with Redis; start clean.
            cache.clear()
            return
        while True:
            answer = client.xread({STREAM: self._last_id}, count=1000)
            if not answer:
                return
            entries = answer[0][1]
            self._last_id = entries[-1][0].decode()
            cache.invalidate({fields[b"tenant"].decode() for _id, fields in entries})
            if len(entries) < 1000:
                return

    def publish(self, tenant_ids) -> None:
        """After a commit: tell the other workers (Redis mode; polling needs nothing)."""
        if self.mode != "redis":
            return
        try:
            pipe = self._client().pipeline(transaction=False)
            for tenant_id in tenant_ids:
                pipe.xadd(STREAM, {"tenant": tenant_id}, maxlen=STREAM_MAXLEN, approximate=True)
            pipe.execute()
        except Exception as exc:  # noqa: BLE001 - the commit stands; others fall back to the TTL
            from app.web import degraded  # issue #16: counted and logged, no traceback

            degraded.note("config_sync", exc)


def _missing(connection, tenant_ids: list[str]) -> list[str]:
    """Which of ``tenant_ids`` no longer exist (a tenant was deleted somewhere)."""
    missing = []
    for start in range(0, len(tenant_ids), 500):
        chunk = tenant_ids[start : start + 500]
        found = set(connection.scalars(select(Tenant.id).where(Tenant.id.in_(chunk))))
        missing += [tid for tid in chunk if tid not in found]
    return missing


# --- the version bump, in the transaction of the change ----------------------------------


def _tenant_ids(session: Session) -> tuple[set[str], bool]:
    """Tenants whose configuration this flush changes, and whether a tenant is deleted."""
    ids: set[str] = set()
    deleted_tenant = False
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, CONFIG_MODELS):
            ids.add(obj.id if isinstance(obj, Tenant) else obj.tenant_id)
            deleted_tenant |= isinstance(obj, Tenant) and obj in session.deleted
    for obj in session.dirty:
        if isinstance(obj, CONFIG_MODELS) and session.is_modified(obj):
            ids.add(obj.id if isinstance(obj, Tenant) else obj.tenant_id)
    ids.discard(None)
    return ids, deleted_tenant


def _bump(session: Session, _flush_context) -> None:
    """after_flush: bump the versions of the tenants this flush changed (same transaction).

    A deleted tenant has no row left to bump; the system tenant's version is bumped
    instead, which makes polling workers check that their tenants still exist.
    """
    ids, deleted_tenant = _tenant_ids(session)
    if not ids:
        return
    session.info.setdefault(_CHANGED, set()).update(ids)
    table = Tenant.__table__
    target = table.c.id.in_(sorted(ids))
    if deleted_tenant:
        target = target | (table.c.slug == SYSTEM_SLUG)
    session.connection().execute(
        update(table)
        .where(target)
        .values(config_version=table.c.config_version + 1, config_changed_at=utcnow())
    )


def _after_commit(session: Session) -> None:
    ids = session.info.pop(_CHANGED, None)
    if not ids:
        return
    for cache in list(_CACHES):
        cache.invalidate(ids)
    try:
        cache = current_app.extensions.get(_EXT)
    except RuntimeError:  # outside an app context (scripts): nothing to publish through
        return
    if cache is not None:
        cache.sync.publish(ids)


def _after_rollback(session: Session, _previous_transaction) -> None:
    session.info.pop(_CHANGED, None)


def changed_tenants(session) -> set[str]:
    """Tenants whose configuration this session (or the request's scoped session) changed
    and has not committed yet."""
    registry = getattr(session, "registry", None)
    if registry is not None:  # a scoped session: don't create one just to ask
        if not registry.has():
            return set()
        session = registry()
    return set(session.info.get(_CHANGED, ()))


def tenant_cache() -> TenantCache:
    return current_app.extensions[_EXT]


def _sync_mode(app: Flask) -> str:
    mode = str(app.config.get("TENANT_SYNC", "auto")).lower()
    if mode not in {"auto", "redis", "poll", "local"}:
        raise ValueError("TENANT_SYNC must be auto, redis, poll or local")
    if mode == "auto":
        return "redis" if app.config.get("REDIS_URL") else "poll"
    return mode


def init_app(app: Flask) -> None:
    sync = ConfigSync(
        _sync_mode(app),
        float(app.config.get("TENANT_SYNC_INTERVAL", 0.5)),
        app.config.get("REDIS_URL"),
        float(app.config.get("TENANT_SYNC_BACKSTOP", 30)),
    )
    app.extensions[_EXT] = TenantCache(
        ttl=float(app.config.get("TENANT_CACHE_TTL", 3600)),
        maxsize=int(app.config.get("TENANT_CACHE_SIZE", 20_000)),
        sync=sync,
    )
    if not event.contains(Session, "after_flush", _bump):
        event.listen(Session, "after_flush", _bump)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)
