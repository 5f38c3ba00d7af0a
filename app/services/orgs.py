"""Organizations inside a tenant: create, rename, delete, members with org roles, auto-join.

Every read goes through ``scope(tenant)``, so an organization of another tenant is simply
not found. Membership rules: a user may belong to many organizations; an organization
always keeps at least one ``owner`` once it has one.
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import delete
from sqlalchemy import select

from app.extensions import db
from app.models import Membership
from app.models import MembershipRole
from app.models import Organization
from app.models import Role
from app.models import Tenant
from app.models import User
from app.quotas import enforce as quotas
from app.services import audit
from app.services import roles as roles_service
from app.services.errors import Conflict
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.services.integrity import flush_unique
from app.services.settings import validate_changes
from app.services.tenants import validate_name
from app.services.tenants import validate_slug
from app.tenancy import scope

OWNER = "owner"


def slugify(name: str) -> str:
    """A slug from a display name: ``"Acme Engineering"`` → ``acme-engineering``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:63].strip("-")
    return slug or "org"


def _clean_domains(domains) -> list[str]:
    # Same rule as the tenant's allowed_email_domains setting.
    return validate_changes({"allowed_email_domains": domains or []})["allowed_email_domains"]


def _validated(name=None, slug=None, domains=None) -> dict:
    """Validate the given fields together so every error is reported at once."""
    errors, out = {}, {}
    for field, value, check in (
        ("name", name, validate_name),
        ("slug", slug, validate_slug),
        ("domains", domains, _clean_domains),
    ):
        if value is None:
            continue
        try:
            out[field] = check(value)
        except ValidationFailed as exc:
            errors[field] = next(iter(exc.errors.values()))
    if errors:
        raise ValidationFailed(errors)
    return out


def _slug_taken(tenant: Tenant, slug: str, except_id: str | None = None) -> bool:
    criteria = [Organization.slug == slug]
    if except_id:
        criteria.append(Organization.id != except_id)
    return scope(tenant).count(Organization, *criteria) > 0


def _org_slug_taken() -> Conflict:
    return Conflict("An organization with this slug already exists.", field="slug")


def create_org(tenant: Tenant, name: str, slug: str | None = None, domains=None) -> Organization:
    """A new organization; the slug is derived from the name when absent, unique per tenant."""
    fields = _validated(name=name, slug=slug if slug else slugify(name or ""), domains=domains)
    if _slug_taken(tenant, fields["slug"]):
        raise _org_slug_taken()
    quotas.check_capacity(tenant, "max_organizations")
    org = scope(tenant).add(
        Organization(name=fields["name"], slug=fields["slug"], domains=fields.get("domains", []))
    )
    flush_unique(_org_slug_taken())  # a concurrent request may have taken it since the check
    audit.record(
        tenant, "org.created", target_type="org", target_id=org.id, slug=org.slug, name=org.name
    )
    return org


def update_org(tenant: Tenant, org: Organization, *, name=None, slug=None, domains=None):
    """Rename, re-slug or change the auto-join domains of an organization."""
    _owned(tenant, org)
    fields = _validated(name=name, slug=slug, domains=domains)
    if "slug" in fields and _slug_taken(tenant, fields["slug"], except_id=org.id):
        raise _org_slug_taken()
    changes = {}
    for field, value in fields.items():
        if getattr(org, field) != value:
            changes[field] = {"before": getattr(org, field), "after": value}
            setattr(org, field, value)
    if changes:
        flush_unique(_org_slug_taken())
        audit.record(tenant, "org.updated", target_type="org", target_id=org.id, changes=changes)
    return org


def delete_org(tenant: Tenant, org: Organization, confirm: str) -> None:
    """Delete an organization; ``confirm`` must repeat its slug. Memberships go, users stay."""
    _owned(tenant, org)
    if confirm != org.slug:
        raise ValidationFailed({"confirm": "type the organization's slug to confirm deletion"})
    member_ids = [m.id for m in scope(tenant).all(Membership, Membership.org_id == org.id)]
    if member_ids:
        db.session.execute(
            delete(MembershipRole).where(MembershipRole.membership_id.in_(member_ids))
        )
        db.session.execute(delete(Membership).where(Membership.id.in_(member_ids)))
    audit.record(tenant, "org.deleted", target_type="org", target_id=org.id, slug=org.slug)
    db.session.delete(org)
    db.session.flush()


def get_org(tenant: Tenant, ref: str) -> Organization:
    """An organization of this tenant by id or slug; NotFound otherwise (other tenants' too)."""
    org = None
    if isinstance(ref, str) and ref:
        org = scope(tenant).first(
            Organization, (Organization.id == ref) | (Organization.slug == ref)
        )
    if org is None:
        raise NotFound("No such organization.")
    return org


def list_orgs(tenant: Tenant, query: str = "", after: str | None = None, limit: int = 50):
    """Organizations by id (creation order), filtered by name or slug; ``after`` is the cursor."""
    criteria = []
    if query:
        like = f"%{query.lower()}%"
        criteria.append(Organization.slug.ilike(like) | Organization.name.ilike(like))
    if after:
        criteria.append(Organization.id > after)
    stmt = scope(tenant).select(Organization, *criteria).order_by(Organization.id)
    return list(db.session.scalars(stmt.limit(max(1, min(int(limit), 200)))))


# --- members -------------------------------------------------------------------------


def _membership(tenant: Tenant, org: Organization, user: User) -> Membership | None:
    return scope(tenant).first(
        Membership, Membership.org_id == org.id, Membership.user_id == user.id
    )


def _role_names(membership: Membership) -> list[str]:
    stmt = (
        select(Role.name)
        .join(MembershipRole, MembershipRole.role_id == Role.id)
        .where(MembershipRole.membership_id == membership.id)
        .order_by(Role.name)
    )
    return list(db.session.scalars(stmt))


def _write_roles(tenant: Tenant, membership: Membership, names: list[str]) -> None:
    db.session.execute(delete(MembershipRole).where(MembershipRole.membership_id == membership.id))
    for role in roles_service.find_roles(tenant, "org", names).values():
        scope(tenant).add(MembershipRole(membership_id=membership.id, role_id=role.id))
    db.session.flush()


def _owner_count(tenant: Tenant, org: Organization) -> int:
    owner = roles_service.find_roles(tenant, "org", [OWNER]).get(OWNER)
    if owner is None:
        return 0
    member_ids = (
        scope(tenant)
        .select(Membership, Membership.org_id == org.id)
        .with_only_columns(Membership.id)
    )
    return scope(tenant).count(
        MembershipRole,
        MembershipRole.role_id == owner.id,
        MembershipRole.membership_id.in_(member_ids),
    )


def add_member(tenant: Tenant, org: Organization, user: User, roles=("member",)) -> Membership:
    """Make ``user`` a member of ``org`` with org roles; Conflict if already a member."""
    _owned(tenant, org)
    _owned(tenant, user)
    names = roles_service.require_roles(tenant, "org", list(roles))
    if not names:
        raise ValidationFailed({"roles": "a member needs at least one role"})
    already = Conflict("This user is already a member of the organization.", field="user_id")
    if _membership(tenant, org, user):
        raise already
    membership = scope(tenant).add(Membership(org_id=org.id, user_id=user.id))
    flush_unique(already)
    _write_roles(tenant, membership, names)
    audit.record(
        tenant,
        "org.member_added",
        target_type="org",
        target_id=org.id,
        user_id=user.id,
        roles=names,
    )
    return membership


def set_member_roles(tenant: Tenant, org: Organization, user: User, roles) -> list[str]:
    """Replace a member's org roles; the last owner keeps ``owner``."""
    _owned(tenant, org)
    membership = _membership(tenant, org, user)
    if membership is None:
        raise NotFound("This user is not a member of the organization.")
    names = roles_service.require_roles(tenant, "org", list(roles))
    if not names:
        raise ValidationFailed({"roles": "a member needs at least one role"})
    before = _role_names(membership)
    if OWNER in before and OWNER not in names and _owner_count(tenant, org) <= 1:
        raise ValidationFailed({"roles": "the organization's last owner must stay an owner"})
    if before != names:
        _write_roles(tenant, membership, names)
        audit.record(
            tenant,
            "org.member_roles_changed",
            target_type="org",
            target_id=org.id,
            user_id=user.id,
            before=before,
            after=names,
        )
    return names


def remove_member(tenant: Tenant, org: Organization, user: User, *, action="org.member_removed"):
    """Remove a member (refused for the last owner); ``action`` names the audit event."""
    _owned(tenant, org)
    membership = _membership(tenant, org, user)
    if membership is None:
        raise NotFound("This user is not a member of the organization.")
    if OWNER in _role_names(membership) and _owner_count(tenant, org) <= 1:
        raise ValidationFailed(
            {"user_id": "the organization's last owner cannot leave; name another owner first"}
        )
    db.session.execute(delete(MembershipRole).where(MembershipRole.membership_id == membership.id))
    db.session.delete(membership)
    db.session.flush()
    audit.record(tenant, action, target_type="org", target_id=org.id, user_id=user.id)


def list_members(tenant: Tenant, org: Organization) -> list[dict]:
    """``[{"user", "roles", "membership"}]`` ordered by email."""
    _owned(tenant, org)
    stmt = (
        scope(tenant)
        .select(Membership, Membership.org_id == org.id)
        .join(User, User.id == Membership.user_id)
        .add_columns(User)
        .order_by(User.email)
    )
    rows = db.session.execute(stmt).all()
    return [{"user": u, "roles": _role_names(m), "membership": m} for m, u in rows]


def orgs_of(tenant: Tenant, user: User) -> list[tuple[Organization, list[str]]]:
    """The user's organizations in this tenant with their roles there, by name."""
    stmt = (
        scope(tenant)
        .select(Membership, Membership.user_id == user.id)
        .join(Organization, Organization.id == Membership.org_id)
        .add_columns(Organization)
        .order_by(Organization.name)
    )
    rows = db.session.execute(stmt).all()
    return [(org, _role_names(m)) for m, org in rows]


def auto_join(tenant: Tenant, user: User) -> list[Organization]:
    """Join a user with a verified email to every organization claiming its domain, as member.

    Call after the email is known to be verified (sign-up with verification, email
    verification, invitation acceptance, upstream sign-in with a verified email).
    """
    if not user.email_verified or user.tenant_id != tenant.id:
        return []
    domain = user.email.rsplit("@", 1)[-1].lower()
    joined = []
    for org in scope(tenant).all(Organization, order_by=Organization.id):
        if domain in (org.domains or []) and _membership(tenant, org, user) is None:
            add_member(tenant, org, user, roles=("member",))
            joined.append(org)
    return joined


def _owned(tenant: Tenant, row) -> None:
    if row is None or row.tenant_id != tenant.id:
        raise NotFound(f"No such {'user' if isinstance(row, User) else 'organization'}.")
