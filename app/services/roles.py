"""Tenant and organization roles: built-ins, and who holds what."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Membership
from app.models import MembershipRole
from app.models import Role
from app.models import Tenant
from app.models import User
from app.models import UserRole
from app.tenancy import scope

BUILTIN_TENANT_ROLES = {"admin": "Administers this tenant", "member": "A regular user"}
BUILTIN_ORG_ROLES = {
    "owner": "Owns the organization",
    "admin": "Manages the organization's members",
    "member": "A member of the organization",
}


def ensure_builtin_roles(tenant: Tenant) -> None:
    """Create the built-in tenant and organization roles if they are missing."""
    data = scope(tenant)
    existing = {(r.kind, r.name) for r in data.all(Role)}
    for kind, roles in (("tenant", BUILTIN_TENANT_ROLES), ("org", BUILTIN_ORG_ROLES)):
        for name, description in roles.items():
            if (kind, name) not in existing:
                data.add(Role(kind=kind, name=name, description=description, builtin=True))
    db.session.flush()


def find_roles(tenant: Tenant, kind: str, names: list[str]) -> dict[str, Role]:
    if not names:
        return {}
    return {
        r.name: r for r in scope(tenant).all(Role, Role.kind == kind, Role.name.in_(set(names)))
    }


def tenant_role_names(tenant: Tenant, user: User) -> list[str]:
    stmt = (
        select(Role.name)
        .join(UserRole, UserRole.role_id == Role.id)
        .where(UserRole.tenant_id == tenant.id, UserRole.user_id == user.id)
        .order_by(Role.name)
    )
    return list(db.session.scalars(stmt))


def org_role_names(tenant: Tenant, user: User, org_id: str) -> list[str] | None:
    """The user's roles in an organization, or None when not a member."""
    membership = scope(tenant).first(
        Membership, Membership.org_id == org_id, Membership.user_id == user.id
    )
    if membership is None:
        return None
    stmt = (
        select(Role.name)
        .join(MembershipRole, MembershipRole.role_id == Role.id)
        .where(MembershipRole.membership_id == membership.id)
        .order_by(Role.name)
    )
    return list(db.session.scalars(stmt))


def has_tenant_role(tenant: Tenant, user: User, name: str) -> bool:
    return name in tenant_role_names(tenant, user)
