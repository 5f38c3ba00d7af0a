"""PostgreSQL row-level security: the second wall behind the tenant filter (issue #16).

Every tenant-owned table has the policy ``tenant_isolation`` (migration 0007): a row is
visible, and may be written, only when its ``tenant_id`` equals the connection's setting
``gatehouse.tenant_id``, or when ``gatehouse.bypass`` is ``on``. The app connects as a
role that does not own the tables (``gatehouse_app``), so the policy applies to it; the
migrations run as the owner, to whom it does not. A query that forgets its tenant filter
therefore returns no other tenant's rows. (SQLite has no row-level security: there the
tenant filter of :mod:`app.tenancy` is the only wall.)

Who sets the setting:
* the request's tenant, as soon as it is resolved (:func:`app.tenancy.snapshot_for`);
* the one tenant-scoped data path, :class:`app.tenancy.TenantScope`, before each query;
* :func:`bypass`, explicitly, for instance-wide work (the worker, the CLI, the instance
  console and instance-wide admin API credentials): logged, and audited by its callers.

Round trips: the setting is a session-level ``set_config`` sent only when the pooled
connection's current value differs from the wanted one (tracked per connection, and
forgotten when a transaction that changed it rolls back), so a request for the tenant the
connection served last sends no extra statement; switching tenants costs one.
"""

from __future__ import annotations

import logging

from flask import g
from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

log = logging.getLogger("gatehouse.rls")

TENANT_SETTING = "gatehouse.tenant_id"
BYPASS_SETTING = "gatehouse.bypass"
_WANT = "gatehouse.rls"  # session.info: (tenant_id or "", bypass) the session needs
_HAS = "gatehouse.rls"  # connection.info: what the connection has (committed)
_DIRTY = "gatehouse.rls_dirty"  # connection.info: changed in the open transaction
NONE = ("", False)
_SQL = (
    f"SELECT set_config('{TENANT_SETTING}', %(tenant)s, false), "
    f"set_config('{BYPASS_SETTING}', %(bypass)s, false)"
)


POLICY = "tenant_isolation"
_VISIBLE = (
    f"tenant_id = current_setting('{TENANT_SETTING}', true) "
    f"OR current_setting('{BYPASS_SETTING}', true) = 'on'"
)


def secure_new_tables(connection) -> list[str]:
    """Give every tenant-owned table that lacks it the policy of migration 0007; the names
    of the tables it secured.

    Run at the end of every upgrade (migrations/env.py), so a table that a later revision
    adds is never left without the second wall. A no-op on SQLite, and before 0007 (or
    after its downgrade), when no table has the policy yet. The grants need nothing here:
    0007's default privileges give the app role every table the owner makes later."""
    from sqlalchemy import text

    if connection.dialect.name != "postgresql":
        return []
    if not connection.execute(
        text("SELECT 1 FROM pg_policies WHERE policyname = :p LIMIT 1"), {"p": POLICY}
    ).first():
        return []
    bare = (
        connection.execute(
            text(
                "SELECT c.relname FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' "
                "AND NOT a.attisdropped "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r' "
                "AND c.relname <> 'tenants' AND NOT EXISTS (SELECT 1 FROM pg_policies p "
                "WHERE p.schemaname = n.nspname AND p.tablename = c.relname AND p.policyname = :p) "
                "ORDER BY c.relname"
            ),
            {"p": POLICY},
        )
        .scalars()
        .all()
    )
    for table in bare:
        connection.exec_driver_sql(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        connection.exec_driver_sql(
            f'CREATE POLICY {POLICY} ON "{table}" USING ({_VISIBLE}) WITH CHECK ({_VISIBLE})'
        )
    if bare:
        log.info("row-level security enabled on %s", ", ".join(bare))
    return list(bare)


def _session():
    from app.extensions import db

    return db.session() if has_app_context() else None


def _apply(connection, want: tuple[str, bool]) -> None:
    if connection.dialect.name != "postgresql":
        return
    info = connection.info
    if info.get(_HAS) == want:
        return
    tenant, bypass = want
    connection.exec_driver_sql(_SQL, {"tenant": tenant, "bypass": "on" if bypass else "off"})
    info[_HAS] = want
    # (From the execution options, not get_isolation_level(): that asks the server.)
    autocommit = connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    if not autocommit and connection.in_transaction():
        info[_DIRTY] = True


def _want(session: Session, want: tuple[str, bool]) -> None:
    session.info[_WANT] = want
    if session.in_transaction():
        _apply(session.connection(), want)


_PENDING = "_gatehouse_rls_pending"  # on ``g``: the tenant for the session not made yet


def use_tenant(tenant_id: str, session: Session | None = None) -> None:
    """From now on this session's statements see ``tenant_id``'s rows only (no-op while
    an instance-wide bypass is on). Without a session yet (the request's scoped session
    is made on first use), the tenant is kept for it: a request that never reaches the
    database (a warm client_credentials grant) makes no Session at all."""
    if session is None:
        if not has_app_context():
            return
        from app.extensions import db

        if not db.session.registry.has():
            setattr(g, _PENDING, (tenant_id, False))
            return
        session = db.session()
    current = session.info.get(_WANT)
    if current == (tenant_id, False) or (current is not None and current[1]):
        return
    _want(session, (tenant_id, False))


def use_tenant_on(connection, tenant_id: str) -> None:
    """The same for a Core connection outside the ORM session (app/db_session.read_rows)."""
    _apply(connection, (tenant_id, False))


def setting_for(connection, tenant_id: str) -> tuple[str, dict] | None:
    """The statement (SQL for the DBAPI cursor, and its parameters) that gives a Core
    connection ``tenant_id``'s rows, or None when it has them already (or the database
    has no row-level security). For callers that send it themselves, in the same round
    trip as their statement (app/db_session.py); then :func:`setting_applied`."""
    if connection.dialect.name != "postgresql":
        return None
    want = (tenant_id, False)
    if connection.info.get(_HAS) == want:
        return None
    return _SQL, {"tenant": tenant_id, "bypass": "off"}


def setting_applied(connection, tenant_id: str) -> None:
    """The statement of :func:`setting_for` ran on ``connection`` (autocommit)."""
    connection.info[_HAS] = (tenant_id, False)


def bypass(reason: str, session: Session | None = None, *, routine: bool = False) -> None:
    """Instance-wide work: this session sees every tenant's rows. Logged with ``reason``
    (at DEBUG for ``routine`` work that runs every second or so, the outbox worker and the
    usage flush: INFO would be a line a second); callers that act for a person audit what
    they do as usual."""
    session = session or _session()
    if session is None or session.info.get(_WANT) == ("", True):
        return
    log.log(logging.DEBUG if routine else logging.INFO, "row-level security bypassed: %s", reason)
    _want(session, ("", True))


def is_bypassed(session: Session | None = None) -> bool:
    session = session or _session()
    return bool(session is not None and (session.info.get(_WANT) or NONE)[1])


def _default_want() -> tuple[str, bool]:
    """No tenant named yet: nothing is visible, except in the operator's command-line
    tools (``gatehouse …``, whose app sets ``RLS_OPERATOR_TOOL``) outside a request."""
    from flask import current_app
    from flask import has_request_context

    if (
        has_app_context()
        and not has_request_context()
        and current_app.config.get("RLS_OPERATOR_TOOL")
    ):
        return ("", True)
    return NONE


def _pending_for(session) -> tuple[str, bool] | None:
    """The tenant :func:`use_tenant` kept for the request's scoped session, if ``session``
    is that session (any other Session starts with nothing visible, as before)."""
    if not has_app_context():
        return None
    pending = g.get(_PENDING)
    if pending is None:
        return None
    from app.extensions import db

    registry = db.session.registry
    return pending if registry.has() and registry() is session else None


def _after_begin(session, transaction, connection) -> None:
    want = session.info.get(_WANT)
    if want is None:
        want = session.info[_WANT] = _pending_for(session) or _default_want()
        if want[1]:
            log.info("row-level security bypassed: operator command")
    _apply(connection, want)


def _committed(connection) -> None:
    if not connection.invalidated:
        connection.info.pop(_DIRTY, None)


def _rolled_back(connection) -> None:
    if connection.invalidated:  # a new DBAPI connection starts clean (_connected)
        return
    if connection.info.pop(_DIRTY, None):
        connection.info.pop(_HAS, None)  # the server reverted it: unknown now


def _pool_reset(dbapi_connection, record, reset_state) -> None:
    # (The 2.x signature: with ``*args`` SQLAlchemy took this for the legacy two-argument
    # form and issued a deprecation warning on EVERY connection check-in, ~5% of a
    # userinfo request's CPU.)
    if record is not None and record.info.pop(_DIRTY, None):
        record.info.pop(_HAS, None)


def _connected(dbapi_connection, record) -> None:
    record.info.pop(_HAS, None)
    record.info.pop(_DIRTY, None)


def init_app(app) -> None:
    """Listeners on the classes, once per process (SQLite connections ignore them)."""
    if event.contains(Session, "after_begin", _after_begin):
        return
    event.listen(Session, "after_begin", _after_begin)
    event.listen(Engine, "commit", _committed)
    event.listen(Engine, "rollback", _rolled_back)
    from sqlalchemy.pool import Pool

    event.listen(Pool, "reset", _pool_reset)
    event.listen(Pool, "connect", _connected)
