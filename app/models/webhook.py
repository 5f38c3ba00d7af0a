"""Events (the transactional outbox), webhook endpoints and their deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TenantOwned
from app.models.base import UTCDateTime
from app.models.base import id_column
from app.models.base import utcnow


class Event(TenantOwned, db.Model):
    """One thing that happened, written in the transaction that made it happen."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_tenant_id_id", "tenant_id", "id"),
        Index("ix_events_undispatched", "dispatched_at"),
    )

    id: Mapped[str] = id_column("ev")
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    data: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    # Set once the worker has fanned the event out to the matching endpoints.
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookEndpoint(TenantOwned, db.Model):
    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = id_column("wh")
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    description: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    events: Mapped[list] = mapped_column(JSON, nullable=False, default=lambda: ["*"])
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # whsec_ secrets, encrypted at rest (we must sign with them, so no digest).
    secret_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow
    )


class WebhookDelivery(TenantOwned, db.Model):
    """One event for one endpoint: retried until it succeeds or its window closes."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "id"),
    )

    id: Mapped[str] = id_column("dlv")
    endpoint_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(String(1024))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(String(300))
