"""API resources of a tenant (RFC 8707 resource indicators), the permissions tenant and
organization roles carry on them, and what a client's client_credentials tokens may carry.

A resource's ``identifier`` is an absolute URI and becomes the ``aud`` of its access
tokens; it never changes once created (tokens and resource servers refer to it).
"""

from __future__ import annotations

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TenantOwned
from app.models.base import id_column


class Resource(TenantOwned, db.Model):
    """An API of the tenant; ``permissions`` is a list of ``{"name", "description"}``."""

    __tablename__ = "resources"
    __table_args__ = (UniqueConstraint("tenant_id", "identifier"),)

    id: Mapped[str] = id_column("res")
    identifier: Mapped[str] = mapped_column(String(500), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    permissions: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    access_token_ttl_seconds: Mapped[int | None] = mapped_column(Integer)


class RolePermission(TenantOwned, db.Model):
    """One permission of one resource carried by a tenant or organization role."""

    __tablename__ = "role_permissions"
    __table_args__ = (UniqueConstraint("role_id", "resource_id", "permission"),)

    id: Mapped[str] = id_column("rpm")
    role_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("roles.id", ondelete="CASCADE"), index=True, nullable=False
    )
    resource_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("resources.id", ondelete="CASCADE"), index=True, nullable=False
    )
    permission: Mapped[str] = mapped_column(String(200), nullable=False)


class ClientResourceGrant(TenantOwned, db.Model):
    """The permissions of one resource a client's client_credentials tokens may carry."""

    __tablename__ = "client_resource_grants"
    __table_args__ = (UniqueConstraint("client_id", "resource_id"),)

    id: Mapped[str] = id_column("crg")
    client_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("clients.id", ondelete="CASCADE"), index=True, nullable=False
    )
    resource_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("resources.id", ondelete="CASCADE"), index=True, nullable=False
    )
    permissions: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
