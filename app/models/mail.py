"""Outgoing mail, queued in the request's transaction and delivered by the worker.

Without SMTP_URL a message is only logged, and the row stays as the development outbox
(``/_dev/mail``). With SMTP, a sent message keeps its headers but not its body (bodies
hold single-use links that need not sit at rest once delivered).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TimestampMixin
from app.models.base import UTCDateTime
from app.models.base import id_column
from app.models.base import utcnow

# ``suppressed``: a decoy, never delivered (the worker claims only ``pending`` rows; the
# prune job deletes it like a sent one). Passwordless sign-in writes one for an unknown,
# inactive or locked address so that the request does the same work as for a real one
# (app.services.passwordless); no page lists it as mail.
MAIL_STATUSES = ("pending", "sent", "logged", "failed", "suppressed")
SUPPRESSED = "suppressed"


class Job(TimestampMixin, db.Model):
    """Work done by the worker rather than in the request, e.g. ``password_reset`` (the
    worker decides whether an account has the address, so a request does the same work
    for known and unknown addresses)."""

    __tablename__ = "outbox_jobs"
    __table_args__ = (Index("ix_outbox_jobs_due", "status", "next_attempt_at"),)

    id: Mapped[str] = id_column("job")
    tenant_id: Mapped[str | None] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    args: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))


class OutboxMessage(TimestampMixin, db.Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "status", "next_attempt_at"),)

    id: Mapped[str] = id_column("msg")
    tenant_id: Mapped[str | None] = mapped_column(String(40), index=True)
    sender: Mapped[str | None] = mapped_column(String(400))
    to: Mapped[str] = mapped_column(String(320), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    body_text: Mapped[str] = mapped_column(Text, nullable=False)
    body_html: Mapped[str | None] = mapped_column(Text)  # an HTML alternative, if any
    reply_to: Mapped[str | None] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
