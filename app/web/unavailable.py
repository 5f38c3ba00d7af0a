"""The database is unreachable (restarting, failing over, out of connections): answer
503 with ``Retry-After`` in the form the caller reads, never a traceback or a 500.

RFC 6749 JSON (``temporarily_unavailable``) on the protocol endpoints, RFC 9457
problem+json on the admin API, the styled page elsewhere. Nothing half-done survives:
the request's transaction is rolled back (or never committed), so a refresh family is
rotated completely or not at all. The next request after the database is back gets a
fresh pooled connection (app/db_session.py retries a statement whose connection died).
"""

from __future__ import annotations

import logging

from flask import jsonify
from sqlalchemy import exc as sa_exc

log = logging.getLogger("gatehouse.db")

RETRY_AFTER_SECONDS = 2
TITLE = "Service Unavailable"
MESSAGE = "The service is briefly unavailable. Please try again in a few seconds."


def is_database_unavailable(error: BaseException | None) -> bool:
    """True for a failure to reach or keep the database (not a bad statement)."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    # PendingRollbackError: an earlier statement of this request lost its connection.
    return isinstance(
        error,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.TimeoutError
        | sa_exc.PendingRollbackError,
    )


def discard_session() -> None:
    """Roll back the request's transaction (its connection may be dead). The objects the
    request already loaded (its tenant, its user) are detached first, keeping what they
    hold, so the rest of the request (the error page, cookies) reads them without SQL."""
    from flask import g

    from app.extensions import db
    from app.extensions import login_manager

    try:
        db.session.expunge_all()
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; nothing to roll back
        log.debug("rollback after a database outage failed", exc_info=True)
    if g and "_login_user" not in g:  # the page must not try to load the user now
        g._login_user = login_manager.anonymous_user()


def oauth_response():
    """RFC 6749 §5.2-style JSON (``temporarily_unavailable``, §4.1.2.1)."""
    response = jsonify(error="temporarily_unavailable", error_description=MESSAGE)
    response.status_code = 503
    response.headers["Cache-Control"] = "no-store"
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def note(error: BaseException) -> None:
    log.warning("database unavailable: %s", type(error.__cause__ or error).__name__)
