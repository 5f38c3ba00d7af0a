"""Retention: the outbox keeps finished work for EVENT_RETENTION_DAYS (30), so /events
can be polled back that far and the delivery log shows a month; older rows go."""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.models import DeviceAuthorization
from app.models import Event
from app.models import FlowState
from app.models import Job
from app.models import LogoutDelivery
from app.models import OutboxMessage
from app.models import WebhookDelivery

EVERY = timedelta(hours=1)
_last_run: dict[int, datetime] = {}


def prune(session: Session, now: datetime) -> int:
    """Delete finished rows older than the retention (at most once an hour per app)."""
    app = current_app._get_current_object()
    last = _last_run.get(id(app))
    if last is not None and now - last < EVERY:
        return 0
    _last_run[id(app)] = now
    before = now - timedelta(days=current_app.config.get("EVENT_RETENTION_DAYS", 30))
    removed = 0
    for stmt in (
        delete(WebhookDelivery).where(
            WebhookDelivery.created_at < before, WebhookDelivery.status != "pending"
        ),
        delete(Event).where(
            Event.created_at < before,
            Event.dispatched_at.is_not(None),
            ~Event.id.in_(
                session.query(WebhookDelivery.event_id).where(WebhookDelivery.status == "pending")
            ),
        ),
        delete(OutboxMessage).where(
            OutboxMessage.created_at < before, OutboxMessage.status != "pending"
        ),
        delete(Job).where(Job.created_at < before, Job.status != "pending"),
        delete(LogoutDelivery).where(
            LogoutDelivery.created_at < before, LogoutDelivery.status != "pending"
        ),
        delete(FlowState).where(FlowState.expires_at < now),  # abandoned sign-in steps
        # RFC 8628 device and user codes, a day after they expired (used or not).
        delete(DeviceAuthorization).where(DeviceAuthorization.expires_at < now - timedelta(days=1)),
    ):
        removed += session.execute(stmt).rowcount or 0
    session.commit()
    return removed
