"""A tenant's uploaded logo (#20): sanitised bytes, served at a URL holding their digest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import LargeBinary
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import UTCDateTime
from app.models.base import utcnow


class TenantLogo(db.Model):
    """At most one per tenant. ``data`` is what the sanitiser produced (re-encoded PNG or
    JPEG, or allowlisted SVG), never the uploaded bytes; ``digest`` is its SHA-256 (hex)."""

    __tablename__ = "tenant_logos"

    tenant_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    content_type: Mapped[str] = mapped_column(String(32), nullable=False)
    digest: Mapped[str] = mapped_column(String(64), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )
