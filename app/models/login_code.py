"""Passwordless sign-in by email: a one-time code or a magic link (#20)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TenantOwned
from app.models.base import UTCDateTime
from app.models.base import id_column


class LoginCode(TenantOwned, db.Model):
    """One emailed sign-in: ``email_code`` (6 digits, HMAC-stored, 5 attempts) or
    ``magic_link`` (256-bit token, SHA-256-stored). ``user_id`` is empty when the address
    has no account: the browser is answered the same, and nothing is mailed."""

    __tablename__ = "login_codes"

    id: Mapped[str] = id_column("lgc")
    method: Mapped[str] = mapped_column(String(16), nullable=False)  # email_code, magic_link
    user_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    secret_digest: Mapped[str] = mapped_column(String(64), index=True, nullable=False)
    # SHA-256 of a random value kept in the requesting browser's session: the magic link
    # signs in at once only in that browser; elsewhere it asks first.
    browser_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    next_url: Mapped[str] = mapped_column(String(4000), default="", nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
