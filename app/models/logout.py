"""Back-channel logout deliveries: one logout token for one client of one ended session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import Float
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TenantOwned
from app.models.base import UTCDateTime
from app.models.base import id_column
from app.models.base import utcnow


class LogoutDelivery(TenantOwned, db.Model):
    """Queued in the transaction that ended the session; the worker mints a fresh logout
    token for each attempt and POSTs it, retrying a bounded number of times.

    No foreign key to the session or the user: a deleted user's sessions go with the user,
    and their clients must still hear of it (``sid``/``subject`` are what the token says).
    """

    __tablename__ = "backchannel_logout_deliveries"
    __table_args__ = (
        Index("ix_backchannel_logout_deliveries_due", "status", "next_attempt_at"),
        Index("ix_backchannel_logout_deliveries_client", "client_id", "id"),
    )

    id: Mapped[str] = id_column("bcl")
    client_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("clients.id", ondelete="CASCADE"), nullable=False
    )
    session_id: Mapped[str] = mapped_column(String(40), nullable=False)
    subject: Mapped[str] = mapped_column(String(40), nullable=False)
    reason: Mapped[str] = mapped_column(String(32), nullable=False, default="logout")
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
    # Every attempt: ``{"at", "jti", "status", "error"}`` (bounded by the attempt limit).
    history: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
