"""The development outbox: mail that went nowhere because SMTP_URL is unset."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TimestampMixin
from app.models.base import id_column


class OutboxMessage(TimestampMixin, db.Model):
    __tablename__ = "outbox_messages"

    id: Mapped[str] = id_column("msg")
    tenant_id: Mapped[str | None] = mapped_column(String(40), index=True)
    to: Mapped[str] = mapped_column(String(320), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    body_text: Mapped[str] = mapped_column(Text, nullable=False)
