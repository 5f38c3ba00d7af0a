"""Per-tenant signing keys (private part encrypted at rest)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TenantOwned
from app.models.base import UTCDateTime
from app.models.base import id_column


class SigningKey(TenantOwned, db.Model):
    """One JWK. ``status``: ``next`` (published, not yet signing), ``active``,
    ``retiring`` (published until ``retire_after``), ``retired``."""

    __tablename__ = "signing_keys"

    id: Mapped[str] = id_column("key")
    alg: Mapped[str] = mapped_column(String(10), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    private_key_encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    public_jwk: Mapped[dict] = mapped_column(JSON, nullable=False)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retire_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
