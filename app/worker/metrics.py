"""Queue depth and the age of the oldest item waiting past its due time, for /metrics."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select

from app.extensions import db
from app.models import Event
from app.models import Job
from app.models import LogoutDelivery
from app.models import OutboxMessage
from app.models import WebhookDelivery


def render() -> str:
    now = datetime.now(UTC)
    queues = {
        "events": (Event.dispatched_at.is_(None), Event.created_at),
        "webhooks": (WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at),
        "mail": (OutboxMessage.status == "pending", OutboxMessage.next_attempt_at),
        "jobs": (Job.status == "pending", Job.next_attempt_at),
        "backchannel_logout": (
            LogoutDelivery.status == "pending",
            LogoutDelivery.next_attempt_at,
        ),
    }
    depth, age = [], []
    for name, (pending, due) in queues.items():
        count, oldest = db.session.execute(
            select(func.count(), func.min(due)).select_from(due.class_).where(pending)
        ).one()
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        waited = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
        depth.append(f'gatehouse_queue_depth{{queue="{name}"}} {count}')
        age.append(f'gatehouse_queue_oldest_pending_age_seconds{{queue="{name}"}} {waited:.1f}')
    return (
        "\n".join(
            [
                "# HELP gatehouse_queue_depth Items waiting in the outbox (events not yet fanned"
                " out, webhook deliveries and mail not yet done).",
                "# TYPE gatehouse_queue_depth gauge",
                *depth,
                "# HELP gatehouse_queue_oldest_pending_age_seconds How long the oldest pending"
                " item has been due (0 when none is overdue).",
                "# TYPE gatehouse_queue_oldest_pending_age_seconds gauge",
                *age,
            ]
        )
        + "\n"
    )
