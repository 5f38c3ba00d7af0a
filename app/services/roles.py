"""Tenant and organization roles: built-ins, custom roles per tenant, and who holds what."""

from __future__ import annotations

import re

from sqlalchemy import delete
from sqlalchemy import select

from app.extensions import db
from app.models import Membership
from app.models import MembershipRole
from app.models import Role
from app.models import Tenant
from app.models import User
from app.models import UserRole
from app.services import audit
from app.services.errors import Conflict
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.services.integrity import flush_unique
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


# --- custom roles ---------------------------------------------------------------------

ROLE_KINDS = ("tenant", "org")
ROLE_NAME_RE = re.compile(r"[a-z][a-z0-9_:-]{0,63}")  # whole string: fullmatch


def _check_kind(kind: str) -> str:
    if kind not in ROLE_KINDS:
        raise ValidationFailed({"kind": "must be 'tenant' or 'org'"})
    return kind


def _check_description(description: str) -> str:
    description = (description or "").strip()
    if len(description) > 300:
        raise ValidationFailed({"description": "at most 300 characters"})
    return description


def create_role(tenant: Tenant, kind: str, name: str, description: str = "") -> Role:
    """A custom tenant or organization role; Conflict when the name is taken for that kind."""
    _check_kind(kind)
    name = (name or "").strip()
    if not ROLE_NAME_RE.fullmatch(name):
        raise ValidationFailed(
            {"name": "start with a-z; then up to 63 of a-z, 0-9, '_', ':' or '-'"}
        )
    description = _check_description(description)
    ensure_builtin_roles(tenant)
    taken = Conflict(f"A {kind} role named {name!r} already exists.", field="name")
    if scope(tenant).first(Role, Role.kind == kind, Role.name == name):
        raise taken
    role = scope(tenant).add(Role(kind=kind, name=name, description=description, builtin=False))
    flush_unique(taken)  # a concurrent request may have taken the name since the check
    audit.record(
        tenant, "role.created", target_type="role", target_id=role.id, kind=kind, name=name
    )
    return role


def update_role(tenant: Tenant, role: Role, description: str | None) -> Role:
    """Change a role's description (names are immutable: tokens and clients refer to them);
    ``None`` keeps it."""
    _owned(tenant, role)
    if description is None:
        return role
    description = _check_description(description)
    if description != role.description:
        before, role.description = role.description, description
        audit.record(
            tenant,
            "role.updated",
            target_type="role",
            target_id=role.id,
            before=before,
            after=description,
        )
    return role


def delete_role(tenant: Tenant, role: Role) -> None:
    """Delete a custom role; whoever held it loses it. Built-in roles stay."""
    _owned(tenant, role)
    if role.builtin:
        raise ValidationFailed({"role": "built-in roles cannot be deleted"})
    from app.services.permissions import delete_role_permissions

    db.session.execute(delete(UserRole).where(UserRole.role_id == role.id))
    db.session.execute(delete(MembershipRole).where(MembershipRole.role_id == role.id))
    delete_role_permissions(tenant, role)
    audit.record(
        tenant,
        "role.deleted",
        target_type="role",
        target_id=role.id,
        kind=role.kind,
        name=role.name,
    )
    db.session.delete(role)
    db.session.flush()


def list_roles(tenant: Tenant, kind: str | None = None) -> list[Role]:
    """The tenant's roles (built-in first, then by name), optionally of one kind."""
    ensure_builtin_roles(tenant)
    criteria = [Role.kind == _check_kind(kind)] if kind is not None else []
    roles = scope(tenant).all(Role, *criteria)
    return sorted(roles, key=lambda r: (r.kind, not r.builtin, r.name))


def get_role(tenant: Tenant, ref: str, kind: str | None = None) -> Role:
    """A role by id, or by name (``kind`` picks tenant or org; tenant when omitted)."""
    role = scope(tenant).get(Role, ref)
    if role is None and ref:
        role = scope(tenant).first(
            Role, Role.kind == _check_kind(kind or "tenant"), Role.name == ref
        )
    if role is None or (kind is not None and role.kind != kind):
        raise NotFound("No such role.")
    return role


def require_roles(tenant: Tenant, kind: str, names, field: str = "roles") -> list[str]:
    """Validate role names of one kind; returns them sorted and de-duplicated."""
    if isinstance(names, str) or not all(isinstance(n, str) for n in names or []):
        raise ValidationFailed({field: "must be a list of role names"})
    wanted = sorted(set(names or []))
    ensure_builtin_roles(tenant)
    missing = [n for n in wanted if n not in find_roles(tenant, kind, wanted)]
    if missing:
        raise ValidationFailed({field: f"unknown {kind} role: {', '.join(missing)}"})
    return wanted


def _owned(tenant: Tenant, role: Role) -> None:
    if role is None or role.tenant_id != tenant.id:
        raise NotFound("No such role.")
