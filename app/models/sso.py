"""Enterprise SSO of organizations: connections (SAML 2.0, OIDC), verified email
domains, the identities signed in through connections, replay records, SCIM tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import Boolean
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TenantOwned
from app.models.base import UTCDateTime
from app.models.base import id_column


def _org_fk() -> Mapped[str]:
    return mapped_column(
        String(40), ForeignKey("organizations.id", ondelete="CASCADE"), index=True, nullable=False
    )


class OrgDomain(TenantOwned, db.Model):
    """An email domain an organization has proved it owns (DNS TXT) or an operator set."""

    __tablename__ = "org_domains"
    __table_args__ = (UniqueConstraint("tenant_id", "domain"),)

    id: Mapped[str] = id_column("odm")
    org_id: Mapped[str] = _org_fk()
    domain: Mapped[str] = mapped_column(String(253), nullable=False)
    # The TXT record value that proves ownership (random, shown to the admin).
    verification_token: Mapped[str] = mapped_column(String(100), nullable=False)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by: Mapped[str | None] = mapped_column(String(16))  # "dns" or "operator"


class Connection(TenantOwned, db.Model):
    """An organization's enterprise identity provider."""

    __tablename__ = "sso_connections"

    id: Mapped[str] = id_column("con")
    org_id: Mapped[str] = _org_fk()
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # "saml" or "oidc"
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    domains: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    enforced: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    role_mapping: Mapped[dict] = mapped_column(JSON, default=dict, nullable=False)
    # SAML: the IdP's metadata (the XML itself, fetched once when a URL is given).
    metadata_xml: Mapped[str | None] = mapped_column(Text)
    metadata_url: Mapped[str | None] = mapped_column(String(2000))
    idp_initiated: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # SAML: our own keys for this connection (private parts encrypted at rest).
    sp_signing_cert: Mapped[str | None] = mapped_column(Text)
    sp_signing_key_encrypted: Mapped[str | None] = mapped_column(Text)
    sp_encryption_cert: Mapped[str | None] = mapped_column(Text)
    sp_encryption_key_encrypted: Mapped[str | None] = mapped_column(Text)
    # OIDC: the same fields as an upstream provider.
    discovery_url: Mapped[str | None] = mapped_column(String(2000))
    client_id: Mapped[str | None] = mapped_column(String(500))
    client_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    scopes: Mapped[list] = mapped_column(JSON, default=list, nullable=False)


class ConnectionIdentity(TenantOwned, db.Model):
    """A person as the connection knows them (SAML NameID or OIDC ``sub``)."""

    __tablename__ = "sso_identities"
    __table_args__ = (UniqueConstraint("connection_id", "subject"),)

    id: Mapped[str] = id_column("sid")
    connection_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("sso_connections.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    subject: Mapped[str] = mapped_column(String(500), nullable=False)


class SeenAssertion(TenantOwned, db.Model):
    """A SAML assertion ID already consumed, kept until it expires (replay defence)."""

    __tablename__ = "saml_seen_assertions"
    __table_args__ = (UniqueConstraint("connection_id", "assertion_id"),)

    id: Mapped[str] = id_column("sas")
    connection_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("sso_connections.id", ondelete="CASCADE"), nullable=False
    )
    assertion_id: Mapped[str] = mapped_column(String(200), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True, nullable=False)


class ScimToken(TenantOwned, db.Model):
    """A Bearer token for one organization's SCIM endpoint; only its digest is kept."""

    __tablename__ = "scim_tokens"

    id: Mapped[str] = id_column("sct")
    org_id: Mapped[str] = _org_fk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ScimUser(TenantOwned, db.Model):
    """A user provisioned into an organization by SCIM, with the client's ``externalId``."""

    __tablename__ = "scim_users"
    __table_args__ = (UniqueConstraint("org_id", "user_id"),)

    id: Mapped[str] = id_column("scu")
    org_id: Mapped[str] = _org_fk()
    user_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    external_id: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
