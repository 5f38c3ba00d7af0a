"""Tenants, their custom domains and their auth configuration."""

from __future__ import annotations

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from app.extensions import db
from app.models.base import TimestampMixin
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

    domains: Mapped[list[CustomDomain]] = relationship(
        back_populates="tenant", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_system(self) -> bool:
        return self.slug == SYSTEM_SLUG

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def custom_domain(self) -> str | None:
        return self.domains[0].host if self.domains else None


class CustomDomain(TimestampMixin, db.Model):
    __tablename__ = "custom_domains"

    id: Mapped[str] = id_column("dom")
    tenant_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("tenants.id", ondelete="CASCADE"), index=True, nullable=False
    )
    host: Mapped[str] = mapped_column(String(253), unique=True, nullable=False)

    tenant: Mapped[Tenant] = relationship(back_populates="domains")
