"""The request's database session, with recovery from a dropped connection, and the hot
protocol reads on a connection each thread keeps.

There is no ``pool_pre_ping`` (a ``SELECT 1`` round trip on every checkout). Instead, when
the FIRST statement of a transaction fails because its pooled connection was dead (the
database restarted, a proxy or ``pg_terminate_backend`` closed it), SQLAlchemy invalidates
the pool and that statement is retried once on a fresh connection. Nothing was done in
the transaction yet, so the retry is safe; a failure later in a transaction is not retried.

The hottest reads (userinfo, introspection: one row each) go through :func:`read_rows`:
no ORM Session, no pool check-out per request, no SQLAlchemy execution context (see its
docstring). The profile of a userinfo request had ~40% of its CPU in that plumbing.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import os
import re
import threading
import time
from collections import namedtuple

from flask import g
from flask import has_app_context
from flask_sqlalchemy.session import Session
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import QueuePool

from app import rls

log = logging.getLogger("gatehouse.db")


_USED = "gatehouse.statement_ran"
_READ_ONLY = "gatehouse.read_only"
_PENDING_READ_ONLY = "_gatehouse_read_only"  # on ``g``: for the request's session, if made
_AUTOCOMMIT: dict = {}  # engine → the same engine (and pool) in autocommit mode


class RetryingSession(Session):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if has_app_context() and g.get(_PENDING_READ_ONLY):  # see read_only()
            self.info[_READ_ONLY] = True

    def _execute_internal(self, *args, **kwargs):
        first = not (self.in_transaction() and self.info.get(_USED))
        try:
            result = super()._execute_internal(*args, **kwargs)
        except DBAPIError as exc:
            if not (first and exc.connection_invalidated):
                raise
            log.warning("database connection was dropped; retrying on a new one")
            self.rollback()
            result = super()._execute_internal(*args, **kwargs)
        self.info[_USED] = True
        return result

    def commit(self) -> None:
        self.info.pop(_USED, None)
        super().commit()

    def rollback(self) -> None:
        self.info.pop(_USED, None)
        super().rollback()

    def close(self) -> None:
        self.info.pop(_USED, None)
        self.info.pop(_READ_ONLY, None)
        super().close()

    def get_bind(self, *args, **kwargs):
        bind = super().get_bind(*args, **kwargs)
        if not self.info.get(_READ_ONLY):
            return bind
        return _autocommit(bind)


def _autocommit(bind):
    autocommit = _AUTOCOMMIT.get(bind)
    if autocommit is None:
        autocommit = _AUTOCOMMIT[bind] = bind.execution_options(isolation_level="AUTOCOMMIT")
    return autocommit


def read_only() -> None:
    """The request's session, when it is made, runs its reads without a transaction
    (autocommit on the same pool): one round trip per statement, no BEGIN, no COMMIT. For
    requests that never write. Noted on ``g``: a request that never needs the session
    (userinfo, introspection: their one read is :func:`read_rows`) makes none."""
    setattr(g, _PENDING_READ_ONLY, True)


# --- the kept connections ----------------------------------------------------------------
#
# Each thread that serves hot reads keeps ONE autocommit connection of the engine's pool
# checked out across requests (a worker thread serves one request at a time, so nobody
# else uses it). Bounds and lifetime:
# * at most ``pool_size`` kept connections per engine and process (a thread beyond that
#   checks one out per read, as before); with granian's three blocking threads a worker
#   keeps three, and its pool still has room for the threads' ORM sessions;
# * only with a QueuePool (PostgreSQL, SQLite files): SingletonThreadPool and StaticPool
#   hand the same connection to the session too;
# * replaced after ``pool_recycle`` seconds, and after the pool was invalidated (the
#   database restarted), as a pooled connection would be at its next check-out;
# * a dead one (pg_terminate_backend, a restart) is invalidated on its failed statement,
#   which is retried once on a new one;
# * returned to the pool when its engine is disposed, when the process exits, and (by the
#   next thread that keeps one) when its thread has ended; forgotten, not closed, in a
#   child after fork() (the socket is the parent's).


class _Kept:
    __slots__ = ("connection", "dbapi", "engine", "thread", "since", "expires")

    def __init__(self, engine):
        self.engine = engine
        self.connection = self.dbapi = None  # reserved; connected by attach()
        self.thread = threading.current_thread()
        self.since = time.time()
        self.expires = float("inf")

    def attach(self, connection, recycle: int) -> None:
        self.connection = connection
        self.dbapi = connection.connection.dbapi_connection
        self.expires = time.monotonic() + recycle if recycle >= 0 else float("inf")


_local = threading.local()  # .kept: {engine: _Kept} of this thread
_lock = threading.Lock()
_all: dict[int, _Kept] = {}  # id(_Kept) → _Kept, every kept connection of this process
_forsaken: list = []  # kept by the parent before fork(): never used or closed here


def _kept(engine) -> _Kept | None:
    """This thread's kept connection of ``engine`` (kept now if need be), or None."""
    mine = getattr(_local, "kept", None)
    kept = mine.get(engine) if mine else None
    if kept is not None:
        if kept.connection is not None and time.monotonic() < kept.expires:
            pool = engine.pool
            if kept.since >= getattr(pool, "_invalidate_time", 0):
                return kept
        _release(kept)
    return _keep(engine)


def _keep(engine) -> _Kept | None:
    pool = engine.pool
    if type(pool) is not QueuePool:
        return None
    kept = _Kept(engine)
    with _lock:  # counted and reserved at once: threads keeping at the same time
        for other in list(_all.values()):
            if not other.thread.is_alive():  # its thread ended: give the connection back
                _release(other, locked=True)
        if sum(1 for k in _all.values() if k.engine is engine) >= pool.size():
            return None
        _all[id(kept)] = kept
    try:
        if not event.contains(engine, "engine_disposed", _engine_disposed):
            event.listen(engine, "engine_disposed", _engine_disposed)
        kept.attach(_autocommit(engine).connect(), pool._recycle)
    except BaseException:
        _release(kept)
        raise
    if getattr(_local, "kept", None) is None:
        _local.kept = {}
    _local.kept[engine] = kept
    return kept


def _release(kept: _Kept, *, locked: bool = False) -> None:
    """Return a kept connection to its pool (an invalidated one is just dropped)."""
    if locked:
        _all.pop(id(kept), None)
    else:
        with _lock:
            _all.pop(id(kept), None)
    mine = getattr(_local, "kept", None)
    if mine and mine.get(kept.engine) is kept:
        del mine[kept.engine]
    connection, kept.connection = kept.connection, None
    if connection is not None:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - a dead connection has nothing to give back
            log.debug("closing a kept connection failed", exc_info=True)


def _engine_disposed(engine) -> None:
    """The engine's pool was replaced: its kept connections are closed, not given back to
    the old pool (where they would stay open, checked in, until it is collected)."""
    with _lock:
        doomed = [k for k in _all.values() if k.engine is engine]
    for kept in doomed:
        if kept.connection is not None:
            kept.connection.detach()  # closing it now closes the DBAPI connection
        _release(kept)


def release_kept_connections() -> None:
    """Return every kept connection of this process to its pool (at exit)."""
    with _lock:
        doomed = list(_all.values())
    for kept in doomed:
        _release(kept)


def _forget_after_fork() -> None:
    global _local
    _forsaken.extend(_all.values())  # referenced for ever: no close on the parent's socket
    _all.clear()
    _local = threading.local()


atexit.register(release_kept_connections)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


# --- the hot reads -------------------------------------------------------------------------


class _Prepared:
    """A statement compiled once per process and dialect, for the DBAPI cursor."""

    __slots__ = (
        "sql",
        "positions",
        "literals",
        "binds",
        "row",
        "types",
        "processors",
        "name",
        "numbered",
        "execute",
    )

    def __init__(self, statement, dialect):
        compiled = statement.compile(dialect=dialect)
        if compiled.escaped_bind_names or compiled.post_compile_params:
            raise ValueError("not a plain statement")  # not used by the hot reads
        sql = compiled.string
        positions = list(compiled.positiontup) if compiled.positional else None
        # Literals the dialect inlines after compilation (aggregate_strings' separator):
        # rendered now, as SQLAlchemy renders them on every execution.
        for bind in compiled.literal_execute_params:
            name = compiled.bind_names[bind]
            literal = compiled.render_literal_value(bind.effective_value, bind.type)
            sql = sql.replace(f"__[POSTCOMPILE_{name}]", literal)
            if positions is not None:
                positions.remove(name)
        self.sql = sql
        self.positions = tuple(positions) if positions is not None else None
        # Values the statement carries itself (a separator, a literal): not the caller's.
        self.literals = {
            name: bind.effective_value
            for name, bind in compiled.binds.items()
            if not bind.required
            and bind.callable is None
            and bind not in compiled.literal_execute_params
        }
        self.binds = {
            name: processor
            for name, bind in compiled.binds.items()
            if (processor := bind.type._cached_bind_processor(dialect)) is not None
        }
        columns = statement.exported_columns  # a SELECT's, or a write's RETURNING
        names = [c.key or f"_{i}" for i, c in enumerate(columns)]
        self.row = namedtuple("Row", names, rename=True)
        self.types = [c.type for c in columns]
        self.processors = None  # from the first cursor.description, as SQLAlchemy does
        # The same statement as an SQL-level prepared statement (PREPARE once per
        # connection, then EXECUTE with literals): for a tenant switch on psycopg, where
        # the setting and the statement go in one simple-query message
        # (:func:`_execute_with_setting`). Only for named (pyformat) parameters.
        self.name = f"gh_hot_{next(_NAMES)}"
        self.numbered = self.execute = None
        if self.positions is None:
            names: list[str] = []
            self.numbered = _PLACEHOLDER.sub(lambda m: _numbered(m, names), sql)
            arguments = ", ".join(f"%({name})s" for name in names)
            self.execute = f"EXECUTE {self.name}({arguments})" if names else f"EXECUTE {self.name}"

    def parameters(self, params: dict):
        compiled_params = {**self.literals, **params}
        for name, processor in self.binds.items():
            compiled_params[name] = processor(compiled_params[name])
        if self.positions is None:
            return compiled_params
        return tuple(compiled_params[name] for name in self.positions)

    def rows(self, cursor, dialect) -> list:
        fetched = cursor.fetchall()
        processors = self.processors
        if processors is None:
            processors = self.processors = [
                type_._cached_result_processor(dialect, column[1])
                for type_, column in zip(self.types, cursor.description, strict=True)
            ]
        make = self.row._make
        if not any(processors):
            return [make(row) for row in fetched]
        return [make(_processed(processors, row)) for row in fetched]


_NAMES = itertools.count(1)
_PLACEHOLDER = re.compile(r"%%|%\((\w+)\)s")  # pyformat: an escaped % or a named parameter


def _numbered(match, names: list[str]) -> str:
    """``%(name)s`` → ``$n`` (one number per name, in order of first use); ``%%`` → ``%``."""
    name = match.group(1)
    if name is None:
        return "%"
    if name not in names:
        names.append(name)
    return f"${names.index(name) + 1}"


def _processed(processors, row) -> list:
    return [value if p is None else p(value) for p, value in zip(processors, row, strict=True)]


_PREPARED: dict = {}  # (key, dialect name, driver) → _Prepared


def _watched(engine) -> bool:
    """True when something listens to this engine's statements (tracing, statement
    counts in tests): then the statement goes through SQLAlchemy's execution, which
    fires those events, on the same kept connection."""
    d = engine.dispatch
    return bool(d.before_cursor_execute or d.after_cursor_execute or d.before_execute)


def read_rows(engine, statement, params: dict, *, tenant_id: str | None = None, key=None):
    """One read-only statement outside the ORM session: its row tuples (named fields).
    For the hottest protocol reads (userinfo, introspection, the presented refresh token),
    where the Session, the pool's check-out and check-in and SQLAlchemy's execution
    context cost more than the query: the statement runs on this thread's kept autocommit
    connection (above) and, when ``key`` names it, as SQL compiled once per process on the
    DBAPI cursor. A dead connection is replaced and the statement retried once.
    ``tenant_id``: the row-level-security tenant the connection must have (app/rls.py;
    nothing more is sent when the connection already serves that tenant, and on the
    DBAPI path the setting goes in the same round trip as the statement)."""
    return _outside_session(engine, statement, params, tenant_id, key, attempts=2)


def write_once(engine, statement, params: dict, *, tenant_id: str | None = None, key=None):
    """One data-changing statement outside the ORM session, committed on its own
    (autocommit: it is its own transaction, all or nothing): the rows of its RETURNING
    (what it changed; a row count is not reliable through every path). On the same kept
    connection and DBAPI path as :func:`read_rows`, for a hot write that needs no
    transaction around it (the refresh token's rotation, one statement). Never retried:
    a connection that died while the statement was on its way may have committed it."""
    return _outside_session(engine, statement, params, tenant_id, key, attempts=1)


def _outside_session(engine, statement, params, tenant_id, key, *, attempts: int) -> list:
    for attempt in range(1, attempts + 1):
        kept = _kept(engine)
        try:
            if kept is None:  # no room to keep one: a check-out for this statement
                with _autocommit(engine).connect() as connection:
                    if tenant_id is not None:
                        rls.use_tenant_on(connection, tenant_id)
                    return connection.execute(statement, params).all()
            return _on_kept(kept, statement, params, tenant_id, key)
        except DBAPIError as exc:
            if kept is not None and (exc.connection_invalidated or kept.connection.invalidated):
                _release(kept)
            if attempt == attempts or not exc.connection_invalidated:
                raise
            log.warning("database connection was dropped; retrying on a new one")
        except BaseException:
            if kept is not None:  # interrupted: the connection's state is unknown
                _release(kept)
            raise
    raise AssertionError("unreachable")


def _on_kept(kept: _Kept, statement, params, tenant_id, key) -> list:
    """``statement`` on a kept connection: its rows."""
    connection = kept.connection
    engine = kept.engine
    if key is None or _watched(engine):
        if tenant_id is not None:
            rls.use_tenant_on(connection, tenant_id)
        return connection.execute(statement, params).all()
    dialect = engine.dialect
    prepared = _PREPARED.get((key, dialect.name, dialect.driver))
    if prepared is None:
        prepared = _PREPARED.setdefault(
            (key, dialect.name, dialect.driver), _Prepared(statement, dialect)
        )
    parameters = prepared.parameters(params)
    setting = rls.setting_for(connection, tenant_id) if tenant_id is not None else None
    dbapi = kept.dbapi
    client_cursor = _client_cursor_class(dbapi) if setting and prepared.execute else None
    cursor = dbapi.cursor() if client_cursor is None else client_cursor(dbapi)
    try:
        if setting is None:
            cursor.execute(prepared.sql, parameters)
        elif client_cursor is not None:
            _execute_with_setting(connection, cursor, setting, prepared, parameters)
        else:  # another driver: the setting, then the statement
            with dbapi.cursor() as setting_cursor:
                setting_cursor.execute(*setting)
            cursor.execute(prepared.sql, parameters)
        if setting is not None:
            rls.setting_applied(connection, tenant_id)
        return prepared.rows(cursor, dialect)
    except dialect.loaded_dbapi.Error as exc:
        # SQLAlchemy's own handling: the DBAPIError, a disconnect detected and the
        # connection (and the pool) invalidated, handle_error events.
        connection._handle_dbapi_exception(exc, prepared.sql, parameters, cursor, None)
        raise  # (it raised)
    finally:
        cursor.close()


_SERVER_PREPARED = "gatehouse.server_prepared"  # in connection.info: the PREPAREd names
_CLIENT_CURSORS: dict = {}  # DBAPI connection class → psycopg's ClientCursor, or None


def _client_cursor_class(dbapi):
    cls = type(dbapi)
    if cls not in _CLIENT_CURSORS:
        client_cursor = None
        if cls.__module__.split(".")[0] == "psycopg":
            from psycopg import ClientCursor as client_cursor
        _CLIENT_CURSORS[cls] = client_cursor
    return _CLIENT_CURSORS[cls]


def _execute_with_setting(connection, cursor, setting, prepared: _Prepared, parameters) -> None:
    """The row-level-security setting and the statement, for a connection that served
    another tenant last, in ONE simple-query message on psycopg's client-binding
    ``cursor``: the setting and an ``EXECUTE`` of the statement PREPAREd on this connection
    (once; a new connection starts with none), the values quoted by psycopg (``mogrify``).
    The cursor is left on the statement's result. They run as one implicit transaction: a
    statement that fails undoes the setting too. (Before, psycopg's pipeline mode sent them
    in one round trip as well, at three times a lone statement's CPU in the driver: over
    16 tenants in turn, a userinfo request cost a third more than on one.)"""
    done = connection.info.setdefault(_SERVER_PREPARED, set())
    if prepared.name not in done:
        from psycopg.errors import DuplicatePreparedStatement

        with contextlib.suppress(DuplicatePreparedStatement):  # by us before: the same SQL
            cursor.execute(f"PREPARE {prepared.name} AS {prepared.numbered}")
        done.add(prepared.name)
    setting_sql, setting_params = setting
    text = f"{cursor.mogrify(setting_sql, setting_params)}; "
    cursor.execute(text + cursor.mogrify(prepared.execute, parameters))
    cursor.nextset()
