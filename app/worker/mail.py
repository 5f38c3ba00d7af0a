"""The mail half of the worker: send queued messages, retrying while SMTP is down."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from app.models import Job
from app.models import OutboxMessage
from app.services import mail
from app.worker.backoff import retry_later
from app.worker.claims import claim

log = logging.getLogger("gatehouse.worker")


def run_jobs(session: Session, now: datetime, limit: int = 50) -> int:
    """Lease due jobs and run each one; answers how many were run."""
    config = current_app.config
    rows = claim(session, Job, now, limit=limit, lease=config["WORKER_LEASE_SECONDS"])
    for job in rows:
        job.attempts += 1
        job.locked_until = None
        try:
            _run_job(job)
        except Exception as exc:  # noqa: BLE001 - recorded, retried, never fatal
            log.exception("job failed", extra={"job": job.id})
            job.last_error = f"{type(exc).__name__}: {exc}"[:500]
            retry_later(job, now, job.created_at, base_setting="MAIL_RETRY_BASE_SECONDS")
        else:
            job.status, job.next_attempt_at = "done", None
        session.commit()
    return len(rows)


JOBS = {"password_reset": "send_reset_if_known"}


def _run_job(job: Job) -> None:
    """Run a job with the services, in a fresh app context (its own session and
    transaction); the mail it queues is sent by the mail step."""
    from app.extensions import db
    from app.models import Tenant
    from app.services import authn

    with current_app.app_context():
        try:
            tenant = db.session.get(Tenant, job.tenant_id)
            if tenant is not None and job.kind in JOBS:
                getattr(authn, JOBS[job.kind])(tenant, **job.args)
                db.session.commit()
        finally:
            db.session.remove()


def send_due(session: Session, now: datetime, limit: int = 50) -> int:
    """Lease due messages and send each one; answers how many were attempted."""
    config = current_app.config
    rows = claim(session, OutboxMessage, now, limit=limit, lease=config["WORKER_LEASE_SECONDS"])
    for message in rows:
        _send(session, message, now)
    return len(rows)


def _send(session: Session, message: OutboxMessage, now: datetime) -> None:
    message.attempts += 1
    message.locked_until = None
    try:
        message.status = mail.deliver(message)
    except mail.MailError as exc:
        message.last_error = str(exc)[:500]
        if retry_later(message, now, message.created_at, base_setting="MAIL_RETRY_BASE_SECONDS"):
            log.error("mail given up", extra={"mail_id": message.id, "to": message.to})
        else:
            log.warning("mail delayed: SMTP failed", extra={"mail_id": message.id})
    else:
        message.sent_at, message.next_attempt_at, message.last_error = now, None, None
        if message.status == "sent":
            message.body_text = ""  # delivered: its single-use links need not stay at rest
            message.body_html = None
    session.commit()
