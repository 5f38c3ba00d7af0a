"""Signing in through an organization's enterprise connection, with just-in-time
provisioning into the organization.

- A person is known to a connection by its subject (SAML NameID, OIDC ``sub``); a known
  subject signs its user in.
- The connection may only speak for addresses at the domains it is routed for (verified
  domains of its organization): an unknown subject whose email is at one of them becomes
  that account (existing or created just in time, email verified); an address elsewhere
  is refused, so one organization's IdP cannot take over another's people.
- Every sign-in makes the user a member of the organization, with org roles from
  ``role_mapping`` (groups → roles; ``member`` when nothing maps).
- A person SCIM has deactivated in this organization cannot sign in through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from app.extensions import db
from app.models import Connection
from app.models import ConnectionIdentity
from app.models import Organization
from app.models import ScimUser
from app.models import Tenant
from app.models import User
from app.services import audit
from app.services import orgs
from app.services import users
from app.services.errors import ServiceError
from app.services.errors import ValidationFailed
from app.tenancy import scope

AMR = ["ext"]  # a connection's assertion: the session's amr and the ID token's


@dataclass(frozen=True)
class Profile:
    subject: str
    email: str | None
    name: str = ""
    groups: list[str] = field(default_factory=list)


class Refused(ServiceError):
    status = 403
    title = "Sign-in refused"


def record_refusal(tenant: Tenant, connection: Connection, reason: str, **data) -> None:
    """Audit ``sso.refused`` (after the refused attempt's own writes are rolled back)."""
    audit.record(
        tenant,
        "sso.refused",
        target_type="connection",
        target_id=connection.id,
        reason=reason,
        **data,
    )
    db.session.flush()


def refuse(tenant: Tenant, connection: Connection, reason: str, message: str, **data) -> Refused:
    """The error for the caller to raise; the edge rolls back and audits it."""
    return Refused(message, reason=reason, **data)


def mapped_roles(connection: Connection, groups: list[str]) -> list[str]:
    mapping = connection.role_mapping or {}
    roles = sorted({role for group in groups for role in mapping.get(group, [])})
    return roles or ["member"]


def sign_in_through(tenant: Tenant, connection: Connection, profile: Profile) -> User:
    """The user this assertion signs in (provisioned just in time); raises Refused."""
    identity = scope(tenant).first(
        ConnectionIdentity,
        ConnectionIdentity.connection_id == connection.id,
        ConnectionIdentity.subject == profile.subject[:500],
    )
    user = scope(tenant).get(User, identity.user_id) if identity else None
    if user is None:
        user = _match_or_create(tenant, connection, profile)
        scope(tenant).add(
            ConnectionIdentity(
                connection_id=connection.id, user_id=user.id, subject=profile.subject[:500]
            )
        )
    if not user.is_active:
        raise refuse(tenant, connection, "disabled", "This account is disabled.", user_id=user.id)
    org = scope(tenant).get(Organization, connection.org_id)
    deactivated = scope(tenant).first(
        ScimUser, ScimUser.org_id == org.id, ScimUser.user_id == user.id, ScimUser.active.is_(False)
    )
    if deactivated is not None:
        raise refuse(
            tenant, connection, "deprovisioned", "Your access was removed.", user_id=user.id
        )
    _join(tenant, org, user, mapped_roles(connection, profile.groups))
    if profile.name and not user.name:
        user.name = profile.name[:200]
    db.session.flush()
    audit.record(
        tenant,
        "sso.signin",
        target_type="user",
        target_id=user.id,
        connection_id=connection.id,
        org_id=org.id,
    )
    return user


def _match_or_create(tenant: Tenant, connection: Connection, profile: Profile) -> User:
    if not profile.email:
        raise refuse(tenant, connection, "no_email", "Your identity provider sent no email.")
    try:
        email = users.normalize_email(profile.email)
    except ValidationFailed as exc:
        raise refuse(
            tenant, connection, "bad_email", "Your identity provider sent an invalid email."
        ) from exc
    domain = email.rpartition("@")[2]
    if domain not in (connection.domains or []):
        raise refuse(
            tenant,
            connection,
            "foreign_domain",
            "This identity provider cannot sign in addresses at that domain.",
            domain=domain,
        )
    existing = users.find_by_email(tenant, email)
    if existing is not None:
        adopt(tenant, existing)
        return existing
    return users.create_user(
        tenant, email, name=profile.name[:200], email_verified=True, audit_action="signup"
    )


def adopt(tenant: Tenant, user: User) -> None:
    """The organization's IdP (or SCIM client) vouches for this address. An account whose
    address was never verified may have been made by someone else in advance (account
    pre-hijacking): its password and sessions are dropped before it is handed over."""
    if user.email_verified:
        return
    if user.password_hash:
        user.password_hash = None
        audit.record(tenant, "user.password_cleared", target_type="user", target_id=user.id)
    users.end_all_sessions(tenant, user)
    user.email_verified = True


def _join(tenant: Tenant, org: Organization, user: User, roles: list[str]) -> None:
    if orgs._membership(tenant, org, user) is None:
        orgs.add_member(tenant, org, user, roles=roles)
        return
    current = set(orgs._role_names(orgs._membership(tenant, org, user)))
    if set(roles) - current:
        orgs.set_member_roles(tenant, org, user, sorted(current | set(roles)))
