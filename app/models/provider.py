"""Upstream identity providers per tenant and the identities linked through them."""

from __future__ import annotations

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TenantOwned
from app.models.base import id_column


class UpstreamProvider(TenantOwned, db.Model):
    __tablename__ = "upstream_providers"

    id: Mapped[str] = id_column("idp")
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    discovery_url: Mapped[str | None] = mapped_column(String(2000))
    client_id: Mapped[str] = mapped_column(String(500), nullable=False)
    client_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    scopes: Mapped[list] = mapped_column(JSON, default=list, nullable=False)


class LinkedIdentity(TenantOwned, db.Model):
    __tablename__ = "linked_identities"
    __table_args__ = (UniqueConstraint("provider_id", "subject"),)

    id: Mapped[str] = id_column("lid")
    provider_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("upstream_providers.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    subject: Mapped[str] = mapped_column(String(500), nullable=False)
    email: Mapped[str | None] = mapped_column(String(320))
