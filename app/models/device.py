"""RFC 8628 device authorizations: one row per device code (the device's poll) and its
user code (what a person types at ``/device``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TenantOwned
from app.models.base import UTCDateTime
from app.models.base import id_column


class DeviceAuthorization(TenantOwned, db.Model):
    """``status``: ``pending`` until the person decides, then ``approved`` or ``denied``;
    ``issued`` once the device has been given its tokens (exactly once). Both codes are
    stored as digests only: the device code by SHA-256 (256 bits), the user code by an
    HMAC keyed with the instance secret (it has only ~34 bits)."""

    __tablename__ = "device_authorizations"
    __table_args__ = (UniqueConstraint("tenant_id", "user_code_digest"),)

    id: Mapped[str] = id_column("dva")
    client_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("clients.id", ondelete="CASCADE"), index=True, nullable=False
    )
    device_code_digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    user_code_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    scope: Mapped[str] = mapped_column(String(1000), nullable=False)
    # RFC 8707: the resource identifiers asked for, then what the person approved.
    resources: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="pending", nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    interval: Mapped[int] = mapped_column(Integer, default=5, nullable=False)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when the person decides: who, from which browser session, in which organization.
    user_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE")
    )
    session_id: Mapped[str | None] = mapped_column(String(40))
    org_id: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    grant_id: Mapped[str | None] = mapped_column(String(40))
