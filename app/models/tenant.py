"""Tenants, their custom domains and their auth configuration."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from app.extensions import db
from app.models.base import TimestampMixin
from app.models.base import UTCDateTime
from app.models.base import id_column

SYSTEM_SLUG = "system"


class Tenant(TimestampMixin, db.Model):
    __tablename__ = "tenants"

    id: Mapped[str] = id_column("ten")
    slug: Mapped[str] = mapped_column(String(63), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="active", nullable=False)
    # The auth config (DESIGN §3 "settings"); read it through services.settings.
    settings: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)
    # Bumped (in the same transaction) by every change to what a worker keeps in its
    # tenant snapshot: the tenant, its domains, clients and keys (app/tenant_cache.py).
    # Written with SQL only: not mapped, so a stale row (merged, detached) never writes
    # an old version back.
    config_version: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", nullable=False
    )
    config_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    __mapper_args__ = {"exclude_properties": ["config_version", "config_changed_at"]}

    domains: Mapped[list[CustomDomain]] = relationship(
        back_populates="tenant",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="CustomDomain.id",
    )

    @property
    def is_system(self) -> bool:
        return self.slug == SYSTEM_SLUG

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def custom_domain(self) -> str | None:
        """The first verified custom domain: the tenant's canonical origin and issuer."""
        return next((d.host for d in self.domains if d.is_verified), None)


class CustomDomain(TimestampMixin, db.Model):
    __tablename__ = "custom_domains"

    id: Mapped[str] = id_column("dom")
    tenant_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("tenants.id", ondelete="CASCADE"), index=True, nullable=False
    )
    host: Mapped[str] = mapped_column(String(253), unique=True, nullable=False)
    # The value of the TXT record ``_gatehouse.<host>`` that proves control (random).
    verification_token: Mapped[str] = mapped_column(
        String(100), default=lambda: secrets.token_urlsafe(24), nullable=False
    )
    # Pending until verified: only a verified domain routes requests and is the issuer.
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by: Mapped[str | None] = mapped_column(String(16))  # "dns" or "operator"

    tenant: Mapped[Tenant] = relationship(back_populates="domains")

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None
