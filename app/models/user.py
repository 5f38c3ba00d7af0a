"""Users and their tenant roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TenantOwned
from app.models.base import UTCDateTime
from app.models.base import id_column


class User(TenantOwned, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        UniqueConstraint("tenant_id", "external_id"),
    )

    id: Mapped[str] = id_column("usr")
    # Stored normalised (trimmed, lower-cased) so the unique constraint means "one account".
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    name: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    password_hash: Mapped[str | None] = mapped_column(Text)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    status: Mapped[str] = mapped_column(String(16), default="active", nullable=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The key of an imported user in the system it came from (e.g. Auth0's user_id).
    external_id: Mapped[str | None] = mapped_column(String(255))
    # DESIGN §3 "user (more)": a JSON object of at most 16 KB (``metadata`` is taken by
    # SQLAlchemy, hence the attribute name).
    user_metadata: Mapped[dict] = mapped_column("metadata", JSON, default=dict, nullable=False)

    # Flask-Login protocol
    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return self.id


class Role(TenantOwned, db.Model):
    """A role defined in a tenant; ``kind`` is ``tenant`` or ``org``."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "name"),)

    id: Mapped[str] = id_column("rol")
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="tenant")
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    description: Mapped[str] = mapped_column(String(300), default="", nullable=False)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)


class UserRole(TenantOwned, db.Model):
    """A tenant-level role held by a user."""

    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role_id"),)

    id: Mapped[str] = id_column("url")
    user_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    role_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("roles.id", ondelete="CASCADE"), index=True, nullable=False
    )
