"""Invitations to a tenant (and optionally an organization)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TenantOwned
from app.models.base import UTCDateTime
from app.models.base import id_column


class Invitation(TenantOwned, db.Model):
    __tablename__ = "invitations"

    id: Mapped[str] = id_column("inv")
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    org_id: Mapped[str | None] = mapped_column(String(40))
    # Tenant roles granted on acceptance (added to any the user already holds).
    roles: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    # Roles in the organization ``org_id`` (empty without an organization).
    org_roles: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    invited_by: Mapped[str | None] = mapped_column(String(80))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_by: Mapped[str | None] = mapped_column(String(40))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class EmailToken(TenantOwned, db.Model):
    """Single-use emailed token: ``purpose`` is ``verify`` or ``reset``."""

    __tablename__ = "email_tokens"

    id: Mapped[str] = id_column("etk")
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    user_id: Mapped[str] = mapped_column(String(40), index=True, nullable=False)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
