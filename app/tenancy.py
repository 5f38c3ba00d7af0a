"""Resolving the tenant of a request (DESIGN §2) and the one tenant-scoped path to data.

Order: a registered custom domain, a subdomain of BASE_DOMAIN, a ``/t/<slug>`` path
prefix on the base host, and the bare base host is the system tenant. The path prefix
is moved into SCRIPT_NAME by :class:`PathPrefixMiddleware`, so ``url_for`` keeps it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TypeVar

from flask import Flask
from flask import current_app
from flask import g
from flask import request
from flask.ctx import _AppCtxGlobals
from sqlalchemy import bindparam
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.sql import Select
from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import Forbidden
from werkzeug.exceptions import NotFound
from werkzeug.local import LocalProxy

from app import rls
from app.extensions import db
from app.models import SYSTEM_SLUG
from app.models import CustomDomain
from app.models import Tenant

SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")  # whole string: fullmatch
_PREFIX_RE = re.compile(r"/t/([^/]+)(/.*)?", re.DOTALL)
ENVIRON_SLUG = "gatehouse.path_slug"

M = TypeVar("M")


class UnknownTenant(NotFound):
    description = "There is no workspace at this address."


class ForeignHost(BadRequest):
    description = "This server does not answer for that host name."


class PathPrefixMiddleware:
    """Moves ``/t/<slug>`` from PATH_INFO to SCRIPT_NAME and remembers the slug."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        match = _PREFIX_RE.fullmatch(environ.get("PATH_INFO", ""))
        if match:
            slug = match.group(1)
            environ[ENVIRON_SLUG] = slug
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + f"/t/{slug}"
            environ["PATH_INFO"] = match.group(2) or "/"
        return self.wsgi_app(environ, start_response)


@dataclass(frozen=True)
class HostMatch:
    """What the Host header says, before any database lookup."""

    kind: str  # "base", "subdomain", "custom"
    slug: str | None = None
    host: str | None = None


def classify_host(host: str, base_domain: str) -> HostMatch:
    host = host.lower().rstrip(".")
    if host == base_domain:
        return HostMatch("base")
    suffix = "." + base_domain
    if host.endswith(suffix):
        label = host[: -len(suffix)]
        return HostMatch("subdomain", slug=label)
    return HostMatch("custom", host=host)


def tenant_by_slug(slug: str) -> Tenant | None:
    if not SLUG_RE.fullmatch(slug):
        return None
    return db.session.scalar(select(Tenant).where(Tenant.slug == slug))


def tenant_by_domain(host: str) -> Tenant | None:
    hostname = host.split(":", 1)[0]
    return db.session.scalar(
        select(Tenant)
        .join(CustomDomain)
        .where(CustomDomain.host.in_({host, hostname}), CustomDomain.verified_at.is_not(None))
        .limit(1)
    )


def resolve_tenant(host: str, path_slug: str | None, base_domain: str) -> Tenant:
    """The tenant a request is for; raises 404 for an unknown one, 400 for a foreign host."""
    return _resolve(host, path_slug, base_domain, tenant_by_slug, tenant_by_domain)


def resolve_snapshot(host: str, path_slug: str | None, base_domain: str):
    """Like :func:`resolve_tenant`, as an immutable snapshot (app/tenant_snapshot.py)."""
    from app import tenant_snapshot

    def by_slug(slug):
        return tenant_snapshot.load_by_slug(slug) if SLUG_RE.match(slug) else None

    def by_domain(host):
        return tenant_snapshot.load_by_domain({host, host.split(":", 1)[0]})

    return _resolve(host, path_slug, base_domain, by_slug, by_domain)


def _resolve(host, path_slug, base_domain, by_slug, by_domain):
    match = classify_host(host, base_domain)
    if match.kind == "custom":
        tenant = by_domain(match.host)
        if tenant is None:
            raise ForeignHost()
        if path_slug:
            raise UnknownTenant()
        return tenant
    if match.kind == "subdomain":
        if path_slug:  # /t/<slug> only makes sense on the base host
            raise UnknownTenant()
        tenant = by_slug(match.slug)
    else:
        tenant = by_slug(path_slug or SYSTEM_SLUG)
    if tenant is None:
        raise UnknownTenant()
    return tenant


class SuspendedTenant(Forbidden):
    description = "This workspace is suspended. Contact its administrator."


# Endpoints that answer on any host, before (or without) a tenant.
TENANTLESS_ENDPOINTS = frozenset(
    {"health.healthz", "health.readyz", "health.metrics", "health.tls_ask", "static"}
)


# Protocol endpoints (token, introspection, revocation, userinfo, discovery, JWKS): they
# read the tenant snapshot itself and skip the browser machinery (session, CSRF, limiter).
PROTOCOL_ENDPOINTS = frozenset(
    {
        "oauth.token",
        "oauth.introspect",
        "oauth.revoke",
        "oauth.userinfo",
        "oauth.openid_configuration",
        "oauth.jwks",
        "oauth.par",
        "device.authorization_endpoint",
    }
)


def is_protocol_request() -> bool:
    return request.endpoint in PROTOCOL_ENDPOINTS


def snapshot_for(host: str, path_slug: str | None):
    """The tenant snapshot for a request's host and path slug: from this worker's cache,
    else read (one query). Raises like :func:`resolve_tenant`."""
    from app.tenant_cache import tenant_cache

    cache = tenant_cache()
    cache.sync.maybe_check(cache)
    key = (host.lower(), path_slug)
    snapshot = cache.get(key)
    if snapshot is None:
        read_from = time.monotonic()
        snapshot = resolve_snapshot(host, path_slug, current_app.config["BASE_DOMAIN"])
        cache.put(key, snapshot, read_from)
    rls.use_tenant(snapshot.id)  # the request's tenant: its rows only, from here on
    return snapshot


def request_snapshot():
    """The request's tenant snapshot."""
    return snapshot_for(request.host, request.environ.get(ENVIRON_SLUG))


def load_request_tenant() -> None:
    """before_request: put the request's tenant on ``g`` (or abort).

    ``g.tenant_config`` is always the immutable snapshot. ``g.tenant`` (``current_tenant``)
    is the snapshot too on protocol endpoints; elsewhere it is a row materialised from the
    snapshot without SQL, bound to the request's session, so views can change it: made
    on first use (:class:`RequestGlobals`), so a page that reads only configuration (from
    the snapshot) makes none.
    """
    g.tenant = None
    if request.endpoint in TENANTLESS_ENDPOINTS:
        return
    snapshot = request_snapshot()
    g.tenant_config = snapshot
    if request.endpoint in PROTOCOL_ENDPOINTS:
        g.tenant = snapshot
    else:
        g.__dict__.pop("tenant")
        g.__dict__[_PENDING_ROW] = snapshot
    if not snapshot.is_active:
        raise SuspendedTenant()
    g.tenant_form = "path" if request.environ.get(ENVIRON_SLUG) else "host"


# g key: the snapshot whose row ``g.tenant`` is made of on first use.
_PENDING_ROW = "_tenant_row_of"


class RequestGlobals(_AppCtxGlobals):
    """Flask's ``g``, where ``g.tenant`` of a browser request is materialised from the
    request's snapshot (app/tenant_snapshot.py ``materialize``, no SQL) the first time it
    is read, by attribute, ``g.get``, ``in``, ``g.pop`` or ``g.setdefault``; setting it
    replaces it as usual. Everything else is Flask's."""

    def _tenant_row(self):
        from app.tenant_snapshot import materialize

        snapshot = self.__dict__.pop(_PENDING_ROW)
        row = materialize(snapshot)
        self.__dict__["tenant"] = row
        return row

    def _pending(self, name: str) -> bool:
        return name == "tenant" and _PENDING_ROW in self.__dict__

    def __getattr__(self, name: str):
        if self._pending(name):
            return self._tenant_row()
        return super().__getattr__(name)

    def __setattr__(self, name: str, value) -> None:
        if name == "tenant":
            self.__dict__.pop(_PENDING_ROW, None)
        self.__dict__[name] = value

    def __delattr__(self, name: str) -> None:
        if self._pending(name):
            self._tenant_row()
        super().__delattr__(name)

    def get(self, name: str, default=None):
        if name == "tenant" and _PENDING_ROW in self.__dict__:
            return self._tenant_row()
        return self.__dict__.get(name, default)

    def pop(self, name: str, *default):
        if self._pending(name):
            self._tenant_row()
        return super().pop(name, *default)

    def setdefault(self, name: str, default=None):
        if self._pending(name):
            self._tenant_row()
        return super().setdefault(name, default)

    def __contains__(self, item: str) -> bool:
        return item in self.__dict__ or self._pending(item)


def reading_tenant():
    """The request's tenant for code that only reads its configuration: its row once one
    is made (a view may have changed it; what ``read_settings`` then compares), else the
    snapshot, which makes none. None outside a tenant (as ``g.get("tenant")``)."""
    attributes = g.__dict__
    snapshot = attributes.get(_PENDING_ROW)
    return snapshot if snapshot is not None else attributes.get("tenant")


def _get_current_tenant() -> Tenant:
    tenant = g.get("tenant")
    if tenant is None:
        raise RuntimeError("no tenant is bound to this request")
    return tenant


def _get_current_config():
    snapshot = g.get("tenant_config")
    if snapshot is None:
        raise RuntimeError("no tenant is bound to this request")
    return snapshot


current_tenant: Tenant = LocalProxy(_get_current_tenant)  # type: ignore[assignment]
# The request's TenantSnapshot (read only; app/tenant_snapshot.py).
current_config = LocalProxy(_get_current_config)


def config_of(tenant):
    """The snapshot for ``tenant`` when one is at hand (it is one, or it is the request's
    tenant), else None: callers then read the rows."""
    if getattr(tenant, "merged_settings", None) is not None:
        return tenant
    snapshot = g.get("tenant_config") if g else None
    if snapshot is not None and snapshot.id == getattr(tenant, "id", tenant):
        return snapshot
    return None


# --- canonical origins ----------------------------------------------------------------


def tenant_origin(tenant: Tenant, config=None) -> str:
    """The tenant's one canonical origin, which is also its OIDC issuer.

    Built from configuration only, never from the request's Host or X-Forwarded-*.
    """
    config = config or current_app.config
    scheme = config["URL_SCHEME"]
    base = config["BASE_DOMAIN"]
    if tenant.custom_domain:  # verified ones only
        return custom_domain_origin(tenant.custom_domain, config)
    if tenant.is_system:
        return f"{scheme}://{base}"
    if config["TENANT_ROUTING"] == "path":
        return f"{scheme}://{base}/t/{tenant.slug}"
    return f"{scheme}://{tenant.slug}.{base}"


def custom_domain_origin(host: str, config=None) -> str:
    """The origin of a custom domain: ``https://<host>`` in production. Where the
    instance itself runs on plain HTTP and a port (``URL_SCHEME=http``,
    ``BASE_DOMAIN=localhost:5000``: development and tests), the custom domain is served
    by the same listener, so it takes that scheme and port."""
    config = config or current_app.config
    if config["URL_SCHEME"] != "http":
        return f"https://{host}"
    _, colon, port = config["BASE_DOMAIN"].rpartition(":")
    return f"http://{host}:{port}" if colon and port.isdigit() else f"http://{host}"


def issuer_for(tenant: Tenant) -> str:
    issuer = getattr(tenant, "issuer", None)  # a snapshot computed it once
    return issuer or tenant_origin(tenant)


def external_url(tenant: Tenant, path: str) -> str:
    """An absolute link into the tenant (emails, redirects), from its configured origin."""
    if not path.startswith("/"):
        raise ValueError("path must be absolute")
    return tenant_origin(tenant) + path


def tenant_url_for(tenant: Tenant, endpoint: str, **values) -> str:
    """``url_for`` for another tenant than the request's (or outside a request)."""
    adapter = current_app.url_map.bind("localhost", script_name="/")
    return external_url(tenant, adapter.build(endpoint, values))


_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f]")


def is_same_origin_path(target: str | None) -> bool:
    """True for a relative path that stays on this origin (an open-redirect guard)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    return "\\" not in target and _CONTROL_CHARACTER.search(target) is None


# --- the tenant-scoped data path ------------------------------------------------------


class TenantScope:
    """Every read of tenant-owned rows goes through here, so the filter is never forgotten."""

    def __init__(self, tenant_id: str):
        self.tenant_id = tenant_id

    def select(self, model: type[M], *criteria) -> Select:
        rls.use_tenant(self.tenant_id)  # the second wall (PostgreSQL row-level security)
        return select(model).where(model.tenant_id == self.tenant_id, *criteria)

    def get(self, model: type[M], id_: str | None) -> M | None:
        if not id_:
            return None
        return db.session.scalar(self.select(model, model.id == id_))

    def first(self, model: type[M], *criteria) -> M | None:
        return db.session.scalar(self.select(model, *criteria).limit(1))

    def all(self, model: type[M], *criteria, order_by=None) -> list[M]:
        stmt = self.select(model, *criteria)
        if order_by is not None:
            stmt = stmt.order_by(order_by)
        return list(db.session.scalars(stmt))

    def newest_first(self, model: type[M], *criteria, before: str | None, limit: int) -> list[M]:
        """A page of a log, newest first: ids are time-ordered, so ``before`` (the last id
        of the previous page) is the cursor."""
        if before:
            criteria = (*criteria, model.id < before)
        stmt = self.select(model, *criteria).order_by(model.id.desc()).limit(limit)
        return list(db.session.scalars(stmt))

    def count(self, model: type[M], *criteria) -> int:
        rls.use_tenant(self.tenant_id)
        stmt = (
            select(func.count())
            .select_from(model)
            .where(model.tenant_id == self.tenant_id, *criteria)
        )
        return db.session.scalar(stmt) or 0

    def delete(self, model: type[M], *criteria):
        """A ``DELETE`` of this tenant's rows matching ``criteria`` (add ``.returning``)."""
        rls.use_tenant(self.tenant_id)
        return delete(model).where(model.tenant_id == self.tenant_id, *criteria)

    def add(self, obj: M) -> M:
        rls.use_tenant(self.tenant_id)
        obj.tenant_id = self.tenant_id
        db.session.add(obj)
        return obj

    def attach_loaded(self, model: type[M], values: dict) -> M:
        """An instance of ``model`` from a row of this tenant read as values (every mapped
        column, by attribute name), attached to the request's session as loaded, without
        SQL: what the request then changes on it is flushed as usual. The instance the
        session holds already for that row, if any."""
        from sqlalchemy.orm import make_transient_to_detached

        if values["tenant_id"] != self.tenant_id:
            raise ValueError("a row of another tenant")
        existing = db.session.identity_map.get(db.session.identity_key(model, values["id"]))
        if existing is not None:
            return existing
        rls.use_tenant(self.tenant_id)
        # As the ORM fills a loaded row (its loader writes the instance's dict): no
        # attribute events per column, as the constructor would fire for each.
        instance = model.__mapper__.class_manager.new_instance()
        instance.__dict__.update(values)
        make_transient_to_detached(instance)
        db.session.add(instance)
        return instance

    def execute_prepared(self, key: str, build, **params):
        """Execute a statement built ONCE per process by ``build(tenant)``, where ``tenant``
        is a bound parameter that this scope fills with its tenant id; ``build`` must filter
        every tenant-owned table by it. For the hot paths, where building a statement costs
        more than running it; the rows are still this tenant's only."""
        rls.use_tenant(self.tenant_id)
        stmt = _PREPARED.get(key)
        if stmt is None:
            stmt = _PREPARED.setdefault(key, build(bindparam("scope_tenant_id")))
        return db.session.execute(stmt, {"scope_tenant_id": self.tenant_id, **params})

    def read_prepared(self, key: str, build, **params) -> list:
        """Like :meth:`execute_prepared` for a Core statement that only reads: its row
        tuples, read outside the request's ORM session (app/db_session.read_rows)."""
        from app.db_session import read_rows

        return self._outside_session(read_rows, key, build, params)

    def write_prepared(self, key: str, build, **params) -> list:
        """A data-changing Core statement built once per process (as for
        :meth:`execute_prepared`), committed on its own outside the request's ORM session
        (app/db_session.write_once): the rows of its RETURNING."""
        from app.db_session import write_once

        return self._outside_session(write_once, key, build, params)

    def _outside_session(self, run, key: str, build, params: dict) -> list:
        stmt = _PREPARED.get(key)
        if stmt is None:
            stmt = _PREPARED.setdefault(key, build(bindparam("scope_tenant_id")))
        params = {"scope_tenant_id": self.tenant_id, **params}
        return run(db.engine, stmt, params, tenant_id=self.tenant_id, key=key)


_PREPARED: dict = {}


def insert_row(model, tenant, prefix: str = ""):
    """An INSERT of one row of a tenant-owned table, for :meth:`TenantScope.execute_prepared`:
    ``tenant_id`` is the scope's tenant (``tenant``, its bound parameter), every other
    column a parameter named ``prefix + column`` (a prefix per table where several are
    written in one statement: SQLAlchemy adds a parameter named like a column to the
    statement)."""
    table = model.__table__
    return insert(table).values(
        {
            c.key: tenant if c.key == "tenant_id" else bindparam(prefix + c.key)
            for c in table.columns
        }
    )


def update_row(model, tenant, id_param: str, **values: str):
    """An UPDATE of one row of a tenant-owned table, for :meth:`TenantScope.execute_prepared`
    (or a CTE of a larger statement): the row whose ``id`` is the parameter ``id_param``
    in ``tenant`` (its bound parameter), each column of ``values`` set to the parameter
    named there (not after a column of the table: SQLAlchemy would add it to the SET)."""
    table = model.__table__
    return (
        update(table)
        .where(table.c.tenant_id == tenant, table.c.id == bindparam(id_param))
        .values({column: bindparam(param) for column, param in values.items()})
    )


def scope(tenant: Tenant | str) -> TenantScope:
    """The data path for one tenant (an object or its id)."""
    return TenantScope(tenant if isinstance(tenant, str) else tenant.id)


def init_app(app: Flask) -> None:
    from app import tenant_cache

    tenant_cache.init_app(app)
    app.app_ctx_globals_class = RequestGlobals
    app.wsgi_app = PathPrefixMiddleware(app.wsgi_app)
    app.before_request(load_request_tenant)

    @app.context_processor
    def _tenant_context():
        return {"current_tenant": g.get("tenant")}
