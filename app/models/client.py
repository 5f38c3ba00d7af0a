"""OAuth clients (RFC 7591 metadata names) and remembered consents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import UniqueConstraint
from sqlalchemy import false
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TenantOwned
from app.models.base import UTCDateTime
from app.models.base import id_column


class Client(TenantOwned, db.Model):
    __tablename__ = "clients"

    id: Mapped[str] = id_column("cli")
    client_name: Mapped[str] = mapped_column(String(200), nullable=False)
    # SHA-256 hex digest of the secret; None for public clients.
    secret_digest: Mapped[str | None] = mapped_column(String(64))
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    redirect_uris: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    post_logout_redirect_uris: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    grant_types: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    response_types: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    token_endpoint_auth_method: Mapped[str] = mapped_column(
        String(32), default="client_secret_basic", nullable=False
    )
    scope: Mapped[str] = mapped_column(String(1000), default="openid", nullable=False)
    id_token_signed_response_alg: Mapped[str] = mapped_column(
        String(10), default="RS256", nullable=False
    )
    first_party: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # RFC 9126 §6: authorization requests only through /oauth2/par.
    require_pushed_authorization_requests: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), nullable=False
    )
    # RFC 9449 §5.2: every access token of this client is DPoP-bound (a token request
    # without a DPoP proof is refused).
    dpop_bound_access_tokens: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), nullable=False
    )
    # Roles carried by client_credentials tokens.
    roles: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # OIDC Back-Channel Logout 1.0 §2.2: where logout tokens are POSTed, and whether the
    # client needs ``sid`` in them (Gatehouse always sends it).
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(2000))
    backchannel_logout_session_required: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), nullable=False
    )
    # The client's public keys (RFC 7591 §2), for private_key_jwt (RFC 7523) and signed
    # request objects (RFC 9101): an inline JWK Set or where to fetch one; never both.
    jwks: Mapped[dict | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(String(2000))

    @property
    def client_id(self) -> str:
        return self.id

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"


class Consent(TenantOwned, db.Model):
    """Scopes a user has granted to a client, remembered until revoked."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("user_id", "client_id"),)

    id: Mapped[str] = id_column("cns")
    user_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    client_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("clients.id", ondelete="CASCADE"), index=True, nullable=False
    )
    scope: Mapped[str] = mapped_column(String(1000), nullable=False)
    # API permissions shown and approved, per resource identifier: {identifier: [names]}.
    permissions: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)
