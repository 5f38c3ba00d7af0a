"""SCIM resources (RFC 7643 §4) of Gatehouse's users and org roles."""

from __future__ import annotations

from app.models import Organization
from app.models import Role
from app.models import Tenant
from app.services import roles as roles_service
from app.services import scim
from app.tenancy import external_url

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _meta(tenant: Tenant, kind: str, row) -> dict:
    return {
        "resourceType": kind,
        "created": row.created_at.isoformat(),
        "lastModified": row.created_at.isoformat(),
        "location": external_url(tenant, f"/scim/v2/{kind}s/{row.id}"),
    }


def user_resource(tenant: Tenant, org: Organization, view: scim.UserView) -> dict:
    user = view.user
    given, _, family = (user.name or "").partition(" ")
    groups = []
    if view.member:
        names = roles_service.org_role_names(tenant, user, org.id) or []
        found = roles_service.find_roles(tenant, "org", names)
        groups = [{"value": found[n].id, "display": n} for n in names if n in found]
    resource = {
        "schemas": [USER],
        "id": user.id,
        "userName": user.email,
        "displayName": user.name or user.email,
        "name": {"formatted": user.name, "givenName": given, "familyName": family},
        "emails": [{"value": user.email, "type": "work", "primary": True}],
        "active": view.active,
        "groups": groups,
        "meta": _meta(tenant, "User", user),
    }
    if view.record is not None and view.record.external_id:
        resource["externalId"] = view.record.external_id
    return resource


def group_resource(tenant: Tenant, org: Organization, role: Role) -> dict:
    members = scim.group_members(tenant, org, role)
    return {
        "schemas": [GROUP],
        "id": role.id,
        "displayName": role.name,
        "members": [{"value": u.id, "display": u.email, "type": "User"} for u in members],
        "meta": _meta(tenant, "Group", role),
    }
