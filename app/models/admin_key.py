"""Admin API keys: instance-wide (tenant_id NULL) or for one tenant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TimestampMixin
from app.models.base import UTCDateTime
from app.models.base import id_column


class AdminApiKey(TimestampMixin, db.Model):
    __tablename__ = "admin_api_keys"

    id: Mapped[str] = id_column("akey")
    tenant_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    # The first characters of the key, shown in listings to tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(80))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_instance_key(self) -> bool:
        return self.tenant_id is None
