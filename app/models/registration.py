"""Dynamic client registration (RFC 7591/7592): initial access tokens minted by tenant
admins, and what a dynamically registered client holds beside its ``clients`` row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TenantOwned
from app.models.base import UTCDateTime
from app.models.base import id_column


class InitialAccessToken(TenantOwned, db.Model):
    """A Bearer token that allows registering clients (RFC 7591 §3); only its SHA-256
    digest is kept. ``max_uses`` and ``expires_at`` are optional (None: unlimited)."""

    __tablename__ = "initial_access_tokens"

    id: Mapped[str] = id_column("iat")
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ClientRegistration(TenantOwned, db.Model):
    """A client registered at ``/oauth2/register``: the digest of its registration access
    token (RFC 7592 §1.1) and the metadata that has no column on ``clients`` (logo_uri,
    policy_uri, tos_uri, client_uri, contacts, application_type, software_id/version).
    Goes with the client (ON DELETE CASCADE); an admin-created client has none."""

    __tablename__ = "client_registrations"

    id: Mapped[str] = id_column("crg")
    client_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("clients.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    token_digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    token_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    client_metadata: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)
    # The initial access token it was registered with (None: open registration). No
    # foreign key: revoking the token leaves the client registered.
    initial_token_id: Mapped[str | None] = mapped_column(String(40))
