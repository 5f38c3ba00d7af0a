"""The request's database session, with recovery from a dropped connection.

There is no ``pool_pre_ping`` (a ``SELECT 1`` round trip on every checkout). Instead, when
the FIRST statement of a transaction fails because its pooled connection was dead (the
database restarted, a proxy or ``pg_terminate_backend`` closed it), SQLAlchemy invalidates
the pool and that statement is retried once on a fresh connection. Nothing was done in
the transaction yet, so the retry is safe; a failure later in a transaction is not retried.
"""

from __future__ import annotations

import logging

from flask_sqlalchemy.session import Session
from sqlalchemy.exc import DBAPIError

log = logging.getLogger("gatehouse.db")


_USED = "gatehouse.statement_ran"
_READ_ONLY = "gatehouse.read_only"
_AUTOCOMMIT: dict = {}  # engine → the same engine (and pool) in autocommit mode


class RetryingSession(Session):
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


def read_rows(engine, statement, params: dict) -> list:
    """One read-only statement outside the ORM session: row tuples from an autocommit
    connection of ``engine``'s pool (no BEGIN/COMMIT, no Session to build, track and
    close). For the hottest protocol reads (userinfo, introspection), where the Session
    machinery cost more than the query. A dead pooled connection is retried once."""
    autocommit = _autocommit(engine)
    try:
        with autocommit.connect() as connection:
            return connection.execute(statement, params).all()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.warning("database connection was dropped; retrying on a new one")
        with autocommit.connect() as connection:
            return connection.execute(statement, params).all()


def read_only(session) -> None:
    """Run this session's reads without a transaction (autocommit on the same pool): one
    round trip per statement, no BEGIN, no COMMIT. For requests that never write."""
    session.info[_READ_ONLY] = True
