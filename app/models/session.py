"""Browser sessions and the OAuth artefacts that hang off them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TenantOwned
from app.models.base import UTCDateTime
from app.models.base import id_column


class BrowserSession(TenantOwned, db.Model):
    __tablename__ = "browser_sessions"

    id: Mapped[str] = id_column("ses")
    user_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    # SHA-256 of the cookie value; the cookie is the only copy of the secret.
    token_digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    amr: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    active_org_id: Mapped[str | None] = mapped_column(String(40))
    # The enterprise connection (``con_...``) that signed this session in, if any.
    idp: Mapped[str | None] = mapped_column(String(40))
    ip: Mapped[str] = mapped_column(String(64), default="", nullable=False)
    user_agent: Mapped[str] = mapped_column(String(300), default="", nullable=False)


class AuthorizationCode(TenantOwned, db.Model):
    __tablename__ = "authorization_codes"

    id: Mapped[str] = id_column("cod")
    code_digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    client_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("clients.id", ondelete="CASCADE"), index=True, nullable=False
    )
    user_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    session_id: Mapped[str | None] = mapped_column(String(40))
    redirect_uri: Mapped[str] = mapped_column(String(2000), nullable=False)
    scope: Mapped[str] = mapped_column(String(1000), nullable=False)
    nonce: Mapped[str | None] = mapped_column(String(500))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    org_id: Mapped[str | None] = mapped_column(String(40))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    amr: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    acr: Mapped[str | None] = mapped_column(String(100))
    # OIDC Core §5.5: the user claims the ``claims`` parameter asked for, per target
    # (app/services/claims_request.py); None when it asked for none.
    claims_request: Mapped[dict | None] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The grant (refresh family) the code produced, revoked if the code is replayed.
    grant_id: Mapped[str | None] = mapped_column(String(40))
    # RFC 8707: the resource identifiers the authorization request named.
    resources: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    # RFC 9449 §10: the DPoP key (thumbprint) the authorization request bound the code to.
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))


class Grant(TenantOwned, db.Model):
    """One authorization: a refresh-token family and the access tokens minted from it."""

    __tablename__ = "grants"

    id: Mapped[str] = id_column("gnt")
    client_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("clients.id", ondelete="CASCADE"), index=True, nullable=False
    )
    user_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[str | None] = mapped_column(String(40), index=True)
    scope: Mapped[str] = mapped_column(String(1000), nullable=False)
    org_id: Mapped[str | None] = mapped_column(String(40))
    auth_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    amr: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    # The authentication context class of the authorization (OIDC Core §2), and what its
    # ``claims`` parameter asked for: refreshed ID tokens and userinfo keep answering it.
    acr: Mapped[str | None] = mapped_column(String(100))
    claims_request: Mapped[dict | None] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # RFC 8707 §2.2: the resources granted at authorization, which a refresh may narrow to.
    resources: Mapped[list] = mapped_column(JSON, default=list, nullable=False)


class RefreshToken(TenantOwned, db.Model):
    __tablename__ = "refresh_tokens"

    id: Mapped[str] = id_column("rft")
    grant_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("grants.id", ondelete="CASCADE"), index=True, nullable=False
    )
    token_digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # RFC 9449 §5: a public client's refresh token is bound to the DPoP key (its RFC 7638
    # thumbprint) it was issued to; a refresh must prove possession of that key.
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))


class RevokedAccessToken(TenantOwned, db.Model):
    """RFC 7009 revocation of a self-contained access token, kept until it expires."""

    __tablename__ = "revoked_access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
