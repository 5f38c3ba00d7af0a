"""A tenant's own wording of one mail in one language (#20)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TenantOwned
from app.models.base import UTCDateTime
from app.models.base import id_column
from app.models.base import utcnow


class EmailTemplate(TenantOwned, db.Model):
    """``subject``, ``text`` and optional ``html`` of template ``name`` in ``locale``,
    checked by rendering in the sandbox when saved (app/services/mail_templates.py)."""

    __tablename__ = "email_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "name", "locale"),)

    id: Mapped[str] = id_column("etp")
    name: Mapped[str] = mapped_column(String(32), nullable=False)
    locale: Mapped[str] = mapped_column(String(8), nullable=False)
    subject: Mapped[str] = mapped_column(String(1000), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    html: Mapped[str] = mapped_column(Text, default="", nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
