"""A per-worker cache of resolved tenants, so a request does not pay two queries
(the tenant and its custom domains) before its view runs.

Entries are snapshots of column values, turned into session-bound instances with
``Session.merge(load=False)`` — no SQL — so a view that changes the tenant (settings,
status) still writes through the request's session. A commit that changes a tenant or
a custom domain in this worker clears the cache at once; other workers see the change
within ``TENANT_CACHE_TTL`` seconds (default 5; 0 turns the cache off).
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict

from flask import Flask
from flask import current_app
from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import CustomDomain
from app.models import Tenant

_EXT = "gatehouse.tenant_cache"
_CHANGED = "gatehouse.tenants_changed"


def _columns(model, obj) -> dict:
    return {column.key: getattr(obj, column.key) for column in model.__table__.columns}


class TenantCache:
    """host/slug → tenant snapshot, bounded LRU with a time to live."""

    def __init__(self, ttl: float, maxsize: int):
        self.ttl = ttl
        self.maxsize = maxsize
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def get(self, key) -> Tenant | None:
        """A session-bound tenant for ``key``, or None on a miss."""
        if not self.enabled:
            return None
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            snapshot, expires = item
            if expires < time.monotonic():
                del self._items[key]
                return None
            self._items.move_to_end(key)
        return _materialize(snapshot)

    def put(self, key, tenant: Tenant) -> None:
        if not self.enabled:
            return
        snapshot = (
            _columns(Tenant, tenant),
            [_columns(CustomDomain, domain) for domain in tenant.domains],
        )
        with self._lock:
            self._items[key] = (snapshot, time.monotonic() + self.ttl)
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _materialize(snapshot) -> Tenant:
    columns, domain_rows = snapshot
    tenant = Tenant(**{**columns, "settings": copy.deepcopy(columns["settings"])})
    make_transient_to_detached(tenant)
    domains = []
    for row in domain_rows:
        domain = CustomDomain(**row)
        make_transient_to_detached(domain)
        domains.append(domain)
    set_committed_value(tenant, "domains", domains)
    existing = db.session.identity_map.get(db.session.identity_key(Tenant, columns["id"]))
    if existing is not None:
        return existing
    return db.session.merge(tenant, load=False)


def tenant_cache() -> TenantCache:
    return current_app.extensions[_EXT]


def _note_changes(session: Session, _flush_context) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Tenant | CustomDomain):
            session.info[_CHANGED] = True
            return


def _clear_after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False) and has_app_context():
        cache = current_app.extensions.get(_EXT)
        if cache is not None:
            cache.clear()


def _forget_after_rollback(session: Session, _previous_transaction) -> None:
    session.info.pop(_CHANGED, None)


def init_app(app: Flask) -> None:
    app.extensions[_EXT] = TenantCache(
        ttl=float(app.config.get("TENANT_CACHE_TTL", 5)),
        maxsize=int(app.config.get("TENANT_CACHE_SIZE", 10_000)),
    )
    if not event.contains(Session, "after_flush", _note_changes):
        event.listen(Session, "after_flush", _note_changes)
        event.listen(Session, "after_commit", _clear_after_commit)
        event.listen(Session, "after_soft_rollback", _forget_after_rollback)
