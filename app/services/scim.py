"""SCIM 2.0 provisioning of one organization (RFC 7643/7644), behind its SCIM token.

What a token sees: the organization's members and the people it provisioned (rows of
``scim_users``), never another organization's members nor another tenant's users.

- Users: ``userName`` is the email; creating or adopting a person requires an address at
  a verified domain of the organization (so an organization cannot claim someone else's
  account). Created people join the organization as ``member``.
- ``active: false`` (or DELETE) deprovisions: the person leaves the organization, their
  sessions end and their refresh tokens are revoked in the whole tenant, and when they
  belong to no other organization their account is disabled. ``active: true`` brings
  them back as ``member``.
- Groups are the tenant's org roles; a group's members are the organization's members
  holding that role.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_
from sqlalchemy import select

from app.extensions import db
from app.models import Membership
from app.models import Organization
from app.models import Role
from app.models import ScimUser
from app.models import Tenant
from app.models import User
from app.services import audit
from app.services import org_domains
from app.services import orgs
from app.services import roles as roles_service
from app.services import sso
from app.services import users as users_service
from app.services.errors import ServiceError
from app.tenancy import scope


class ScimError(ServiceError):
    """An RFC 7644 §3.12 error: ``status`` and ``scim_type``."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None):
        super().__init__(detail)
        self.status = status
        self.scim_type = scim_type


@dataclass
class UserView:
    user: User
    record: ScimUser | None
    member: bool

    @property
    def active(self) -> bool:
        if self.record is not None and not self.record.active:
            return False
        return self.user.is_active and self.member


# --- users ---------------------------------------------------------------------------


def _visible_ids(tenant: Tenant, org: Organization):
    members = select(Membership.user_id).where(
        Membership.tenant_id == tenant.id, Membership.org_id == org.id
    )
    provisioned = select(ScimUser.user_id).where(
        ScimUser.tenant_id == tenant.id, ScimUser.org_id == org.id
    )
    return or_(User.id.in_(members), User.id.in_(provisioned))


def _view(tenant: Tenant, org: Organization, user: User) -> UserView:
    record = scope(tenant).first(ScimUser, ScimUser.org_id == org.id, ScimUser.user_id == user.id)
    member = scope(tenant).count(
        Membership, Membership.org_id == org.id, Membership.user_id == user.id
    )
    return UserView(user, record, bool(member))


def find_users(
    tenant: Tenant, org: Organization, *, attribute=None, value=None, start=1, count=100
) -> tuple[int, list[UserView]]:
    """(total, one page) of the organization's users, optionally filtered by equality on
    ``userName``/``emails.value`` (case-insensitive) or ``externalId``."""
    stmt = scope(tenant).select(User).where(_visible_ids(tenant, org))
    if attribute in ("username", "emails.value"):
        stmt = stmt.where(User.email == (value or "").strip().lower())
    elif attribute == "externalid":
        ids = select(ScimUser.user_id).where(
            ScimUser.tenant_id == tenant.id,
            ScimUser.org_id == org.id,
            ScimUser.external_id == value,
        )
        stmt = stmt.where(User.id.in_(ids))
    rows = list(db.session.scalars(stmt.order_by(User.id)))
    page = rows[max(start, 1) - 1 : max(start, 1) - 1 + max(count, 0)]
    return len(rows), [_view(tenant, org, user) for user in page]


def get_user(tenant: Tenant, org: Organization, user_id: str) -> UserView:
    user = db.session.scalar(
        scope(tenant).select(User).where(User.id == (user_id or ""), _visible_ids(tenant, org))
    )
    if user is None:
        raise ScimError(404, "No such user in this organization.")
    return _view(tenant, org, user)


def _email_for_org(tenant: Tenant, org: Organization, email) -> str:
    if not isinstance(email, str) or not email.strip():
        raise ScimError(400, "userName (the email address) is required.", "invalidValue")
    try:
        normalized = users_service.normalize_email(email)
    except Exception as exc:  # ValidationFailed
        raise ScimError(400, "userName must be an email address.", "invalidValue") from exc
    if normalized.rpartition("@")[2] not in org_domains.verified_domains(tenant, org.id):
        raise ScimError(
            400,
            "userName must be an address at a verified domain of this organization.",
            "invalidValue",
        )
    return normalized


def create_user(tenant: Tenant, org: Organization, data: dict) -> UserView:
    """POST /Users: provision (or adopt, by email) a person into the organization."""
    email = _email_for_org(tenant, org, data.get("userName"))
    user = users_service.find_by_email(tenant, email)
    if user is not None and _view(tenant, org, user).member:
        raise ScimError(409, "A user with this userName already exists.", "uniqueness")
    if user is not None and scope(tenant).first(
        ScimUser, ScimUser.org_id == org.id, ScimUser.user_id == user.id
    ):
        raise ScimError(409, "A user with this userName already exists.", "uniqueness")
    if user is not None:
        sso.adopt(tenant, user)
    else:
        user = users_service.create_user(
            tenant,
            email,
            name=display_name(data)[:200],
            email_verified=True,
            audit_action="scim.user_created",
        )
    record = scope(tenant).add(
        ScimUser(org_id=org.id, user_id=user.id, external_id=_external_id(data), active=True)
    )
    db.session.flush()
    orgs.add_member(tenant, org, user, roles=("member",))
    view = UserView(user, record, True)
    if data.get("active") is False:
        set_active(tenant, org, view, False)
    return view


def display_name(data: dict) -> str:
    name = data.get("name") if isinstance(data.get("name"), dict) else {}
    for candidate in (
        data.get("displayName"),
        name.get("formatted"),
        " ".join(p for p in (name.get("givenName"), name.get("familyName")) if p),
    ):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return ""


def _external_id(data: dict) -> str | None:
    value = data.get("externalId")
    return str(value)[:500] if value not in (None, "") else None


def _record(tenant: Tenant, org: Organization, view: UserView) -> ScimUser:
    if view.record is None:
        view.record = scope(tenant).add(ScimUser(org_id=org.id, user_id=view.user.id))
        db.session.flush()
    return view.record


def apply_user(tenant: Tenant, org: Organization, view: UserView, values: dict) -> UserView:
    """Set the attributes named in ``values`` (PUT, or PATCH after path resolution)."""
    user = view.user
    if "userName" in values and values["userName"]:
        email = _email_for_org(tenant, org, values["userName"])
        if email != user.email:
            users_service.update_user(tenant, user, {"email": email})
            user.email_verified = True
    name = display_name(values)
    if name and name != user.name:
        users_service.update_user(tenant, user, {"name": name})
    if "externalId" in values:
        _record(tenant, org, view).external_id = _external_id(values)
    if "active" in values:
        set_active(tenant, org, view, _boolean(values["active"]))
    db.session.flush()
    return view


def _boolean(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"  # Entra ID sends "True"/"False"
    raise ScimError(400, "active must be a boolean.", "invalidValue")


def set_active(tenant: Tenant, org: Organization, view: UserView, active: bool) -> None:
    """Deprovision (``False``) or bring back (``True``) a person in this organization."""
    record = _record(tenant, org, view)
    user = view.user
    if not active:
        record.active = False
        _deprovision(tenant, org, view, action="scim.user_deactivated")
        return
    record.active = True
    if not user.is_active:
        users_service.set_user_status(tenant, user, "active")
    if not view.member:
        orgs.add_member(tenant, org, user, roles=("member",))
        view.member = True
    audit.record(
        tenant, "scim.user_activated", target_type="user", target_id=user.id, org_id=org.id
    )


def _deprovision(tenant: Tenant, org: Organization, view: UserView, *, action: str) -> None:
    user = view.user
    if view.member:
        orgs.remove_member(tenant, org, user, action="org.member_deprovisioned")
        view.member = False
    users_service.end_all_sessions(tenant, user)
    if not orgs.orgs_of(tenant, user) and user.is_active:
        users_service.set_user_status(tenant, user, "disabled")
    audit.record(tenant, action, target_type="user", target_id=user.id, org_id=org.id)


def delete_user(tenant: Tenant, org: Organization, view: UserView) -> None:
    """DELETE /Users/{id}: deprovision, and the organization forgets the person."""
    _deprovision(tenant, org, view, action="scim.user_deleted")
    if view.record is not None:
        db.session.delete(view.record)
    db.session.flush()


# --- groups (org roles) ---------------------------------------------------------------


def list_groups(tenant: Tenant, *, display_name: str | None = None) -> list[Role]:
    roles = roles_service.list_roles(tenant, "org")
    if display_name is not None:
        roles = [r for r in roles if r.name == display_name]
    return roles


def get_group(tenant: Tenant, group_id: str) -> Role:
    role = scope(tenant).first(Role, Role.id == (group_id or ""), Role.kind == "org")
    if role is None:
        raise ScimError(404, "No such group.")
    return role


def group_members(tenant: Tenant, org: Organization, role: Role) -> list[User]:
    return [
        entry["user"] for entry in orgs.list_members(tenant, org) if role.name in entry["roles"]
    ]


def create_group(tenant: Tenant, org: Organization, data: dict) -> Role:
    name = data.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise ScimError(400, "displayName is required.", "invalidValue")
    if list_groups(tenant, display_name=name.strip()):
        raise ScimError(409, "A group with this displayName exists.", "uniqueness")
    try:
        role = roles_service.create_role(tenant, "org", name.strip())
    except ServiceError as exc:
        raise ScimError(400, exc.message, "invalidValue") from exc
    set_group_members(tenant, org, role, [m.get("value") for m in data.get("members") or []])
    return role


def _member_user(tenant: Tenant, org: Organization, user_id) -> User:
    view = get_user(tenant, org, str(user_id or ""))
    if not view.member:
        raise ScimError(400, "Only active members can be put in a group.", "invalidValue")
    return view.user


def add_to_group(tenant: Tenant, org: Organization, role: Role, user_ids) -> None:
    for user_id in user_ids:
        user = _member_user(tenant, org, user_id)
        current = orgs._role_names(orgs._membership(tenant, org, user))
        if role.name not in current:
            orgs.set_member_roles(tenant, org, user, sorted({*current, role.name}))


def remove_from_group(tenant: Tenant, org: Organization, role: Role, user_ids) -> None:
    for user_id in user_ids:
        user = _member_user(tenant, org, user_id)
        current = orgs._role_names(orgs._membership(tenant, org, user))
        if role.name in current:
            remaining = [n for n in current if n != role.name] or ["member"]
            orgs.set_member_roles(tenant, org, user, remaining)


def set_group_members(tenant: Tenant, org: Organization, role: Role, user_ids) -> None:
    wanted = {str(u) for u in user_ids if u}
    current = {u.id for u in group_members(tenant, org, role)}
    add_to_group(tenant, org, role, sorted(wanted - current))
    remove_from_group(tenant, org, role, sorted(current - wanted))
