"""The outbox worker: a small dispatcher over the outbox tables (events → webhook
deliveries, and mail). ``gatehouse worker`` runs it; ``gatehouse run`` (the embedded
development server) runs one in a background thread. See README "Events and webhooks".
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC
from datetime import datetime

from flask import Flask
from sqlalchemy.orm import Session

from app.extensions import db

log = logging.getLogger("gatehouse.worker")


def run_once(now: datetime | None = None, *, mail_only: bool = False) -> int:
    """One pass over every queue (needs an app context); answers the rows handled."""
    from app.services import usage
    from app.worker import logout
    from app.worker import mail
    from app.worker import prune
    from app.worker import webhooks

    def at():  # a given time (tests), else the time of each step
        return now or datetime.now(UTC)

    from app import rls

    with Session(db.engine, expire_on_commit=False) as session:
        rls.bypass("worker", session, routine=True)  # instance-wide: every tenant's outbox
        handled = mail.run_jobs(session, at())
        handled += mail.send_due(session, at())
        if not mail_only:
            handled += webhooks.fan_out(session, at())
            handled += webhooks.deliver_due(session, at())
            handled += logout.deliver_due(session, at())
            prune.prune(session, at())  # not counted: it never means more work is waiting
            usage.maybe_flush()  # usage counters -> tenant_usage_daily, once a minute
    return handled


def run_forever(app: Flask, stop: threading.Event, *, idle: float = 1.0) -> None:
    """Work until ``stop`` is set, sleeping ``idle`` seconds when there is nothing to do."""
    with app.app_context():
        log.info("worker started")
        while not stop.is_set():
            try:
                handled = run_once()
            except Exception:  # noqa: BLE001 - a bad pass must not kill the worker
                log.exception("worker pass failed")
                handled = 0
            if not handled:
                stop.wait(idle)
        log.info("worker stopped")


def start_thread(app: Flask) -> threading.Event:
    """Run a worker in a daemon thread of this process (the embedded default)."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever, args=(app, stop), name="gatehouse-worker", daemon=True
    )
    thread.start()
    return stop


def init_app(app: Flask) -> None:
    """Config defaults; with OUTBOX_DRAIN_ON_COMMIT (tests) a commit that queued mail or
    back-channel logout tokens runs that pass of the worker at once, so tests read
    delivered mail and received logout tokens without a thread."""
    from sqlalchemy import event

    defaults = {
        "WORKER_LEASE_SECONDS": 60,
        "WEBHOOK_RETRY_BASE_SECONDS": 30.0,
        "WEBHOOK_RETRY_WINDOW_SECONDS": 3 * 24 * 3600,
        "WEBHOOK_DISABLE_AFTER_SECONDS": 3 * 24 * 3600,
        "MAIL_RETRY_BASE_SECONDS": 30.0,
        # Back-channel logout: a few quick tries (a logout token is worth little late).
        "BACKCHANNEL_LOGOUT_MAX_ATTEMPTS": 5,
        "BACKCHANNEL_LOGOUT_RETRY_BASE_SECONDS": 10.0,
        "BACKCHANNEL_LOGOUT_RETRY_WINDOW_SECONDS": 3600,
        "OUTBOX_DRAIN_ON_COMMIT": False,
    }
    for key, value in defaults.items():
        app.config.setdefault(key, value)
    if not event.contains(Session, "after_commit", _drain_after_commit):
        event.listen(Session, "after_commit", _drain_after_commit)
        event.listen(Session, "after_rollback", _forget_queued)


def _drain_after_commit(session: Session) -> None:
    from flask import current_app
    from flask import has_app_context

    from app.services.backchannel_logout import QUEUED_FLAG as LOGOUT_FLAG
    from app.services.mail import QUEUED_FLAG

    mail_queued = session.info.pop(QUEUED_FLAG, False)
    logout_queued = session.info.pop(LOGOUT_FLAG, False)
    if not (mail_queued or logout_queued) or not has_app_context():
        return
    if not current_app.config.get("OUTBOX_DRAIN_ON_COMMIT"):
        return
    try:
        if mail_queued:
            run_once(mail_only=True)
        if logout_queued:
            _drain_logout()
    except Exception:  # noqa: BLE001 - the commit already happened; the worker retries
        log.exception("outbox drain after commit failed")


def _drain_logout() -> None:
    from app import rls
    from app.worker import logout

    with Session(db.engine, expire_on_commit=False) as session:
        rls.bypass("worker", session, routine=True)
        logout.deliver_due(session, datetime.now(UTC))


def _forget_queued(session: Session) -> None:
    from app.services.backchannel_logout import QUEUED_FLAG as LOGOUT_FLAG
    from app.services.mail import QUEUED_FLAG

    session.info.pop(QUEUED_FLAG, None)
    session.info.pop(LOGOUT_FLAG, None)
