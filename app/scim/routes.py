"""SCIM 2.0 endpoints. Each request authenticates with the Bearer token of one
organization of the request's tenant; every read and write stays inside that organization."""

from __future__ import annotations

import re

from flask import g
from flask import request

from app.extensions import csrf
from app.extensions import db
from app.models import Organization
from app.scim import bp
from app.scim import discovery
from app.scim import protocol
from app.scim.representation import group_resource
from app.scim.representation import user_resource
from app.services import scim
from app.services import scim_tokens
from app.services.errors import Conflict
from app.services.errors import ServiceError
from app.services.errors import ValidationFailed
from app.services.scim import ScimError
from app.tenancy import current_tenant
from app.tenancy import scope

csrf.exempt(bp)  # Bearer-authenticated JSON, no cookies


@bp.before_request
def authenticate():
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    token = scim_tokens.authenticate(raw.strip()) if scheme.lower() == "bearer" else None
    # A token of another tenant is as unknown here as a made-up one.
    if token is None or token.tenant_id != current_tenant.id:
        return protocol.error_response(401, "A valid SCIM Bearer token is required.")
    org = scope(current_tenant).get(Organization, token.org_id)
    if org is None:
        return protocol.error_response(401, "A valid SCIM Bearer token is required.")
    g.scim_org = org
    return None


@bp.errorhandler(ServiceError)
def _scim_error(exc: ServiceError):
    """RFC 7644 §3.12; the failed request leaves nothing half-done (PATCH is atomic)."""
    db.session.rollback()
    scim_type = getattr(exc, "scim_type", None)
    if scim_type is None and isinstance(exc, Conflict):
        scim_type = "uniqueness"
    elif scim_type is None and isinstance(exc, ValidationFailed):
        scim_type = "invalidValue"
    return protocol.error_response(exc.status, exc.message, scim_type)


RESOURCES = {"Users", "Groups", "ServiceProviderConfig", "ResourceTypes", "Schemas"}
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@bp.route("/", defaults={"rest": ""}, methods=ALL_METHODS)
@bp.route("/<path:rest>", methods=ALL_METHODS)
def _unrouted(rest: str):
    """Anything else under /scim/v2 answers as SCIM does (the more specific rules win)."""
    if rest.split("/", 1)[0] in RESOURCES:
        return protocol.error_response(405, "This method is not supported here.")
    return protocol.error_response(404, "No such resource.")


def _org() -> Organization:
    return g.scim_org


# --- Users ------------------------------------------------------------------------------


@bp.get("/Users")
def users_index():
    attribute, value = protocol.parse_filter(request.args.get("filter"))
    if attribute == "displayname":
        raise ScimError(400, "displayName filters apply to Groups.", "invalidFilter")
    start, count = protocol.paging()
    total, views = scim.find_users(
        current_tenant, _org(), attribute=attribute, value=value, start=start, count=count
    )
    resources = [user_resource(current_tenant, _org(), v) for v in views]
    return protocol.list_response(resources, total, start)


@bp.post("/Users")
def users_create():
    view = scim.create_user(current_tenant, _org(), protocol.body())
    resource = user_resource(current_tenant, _org(), view)
    return protocol.scim_json(resource, 201, {"Location": resource["meta"]["location"]})


@bp.get("/Users/<user_id>")
def users_show(user_id):
    view = scim.get_user(current_tenant, _org(), user_id)
    return protocol.scim_json(user_resource(current_tenant, _org(), view))


@bp.put("/Users/<user_id>")
def users_replace(user_id):
    view = scim.get_user(current_tenant, _org(), user_id)
    data = protocol.body()
    values = {k: data[k] for k in ("userName", "name", "displayName", "active") if k in data}
    values["externalId"] = data.get("externalId")
    scim.apply_user(current_tenant, _org(), view, values)
    return protocol.scim_json(user_resource(current_tenant, _org(), view))


_EMAIL_PATH = re.compile(r'^emails(\[type eq "work"\])?(\.value)?$', re.IGNORECASE)
_USER_PATHS = {
    "active": "active",
    "username": "userName",
    "displayname": "displayName",
    "externalid": "externalId",
}


def _user_values(view, ops) -> dict:
    """Turn PATCH operations into the attribute values to set (RFC 7644 §3.5.2)."""
    given, _, family = (view.user.name or "").partition(" ")
    name = {"formatted": view.user.name, "givenName": given, "familyName": family}
    values: dict = {}
    for op, path, value in ops:
        if path is None:
            if op == "remove" or not isinstance(value, dict):
                raise ScimError(400, "An operation without path carries an object.", "noTarget")
            items = list(value.items())
        else:
            items = [(path, None if op == "remove" else value)]
        for key, item in items:
            lowered = key.lower()
            if lowered in _USER_PATHS:
                if op == "remove" and lowered != "externalid":
                    raise ScimError(400, f"{key} cannot be removed.", "mutability")
                values[_USER_PATHS[lowered]] = item
            elif lowered == "name" and isinstance(item, dict):
                if "formatted" not in item:  # given/family names alone: rebuild it
                    name.pop("formatted", None)
                name.update(item)
                values["name"] = name
            elif lowered.startswith("name."):
                if lowered != "name.formatted":
                    name.pop("formatted", None)
                name[key.split(".", 1)[1]] = item
                values["name"] = name
            elif _EMAIL_PATH.match(key):
                email = item
                if isinstance(item, list) and item:
                    email = next((e.get("value") for e in item if e.get("primary")), None) or (
                        item[0].get("value") if isinstance(item[0], dict) else None
                    )
                values["userName"] = email
            elif lowered.startswith("urn:") or lowered in ("schemas", "id", "meta", "groups"):
                continue  # extensions we do not store, and read-only attributes
            else:
                raise ScimError(400, f"Unsupported path: {key}", "invalidPath")
    return values


@bp.patch("/Users/<user_id>")
def users_patch(user_id):
    view = scim.get_user(current_tenant, _org(), user_id)
    ops = protocol.operations(protocol.body())
    scim.apply_user(current_tenant, _org(), view, _user_values(view, ops))
    return protocol.scim_json(user_resource(current_tenant, _org(), view))


@bp.delete("/Users/<user_id>")
def users_delete(user_id):
    view = scim.get_user(current_tenant, _org(), user_id)
    scim.delete_user(current_tenant, _org(), view)
    return "", 204


# --- Groups (org roles) -------------------------------------------------------------------


@bp.get("/Groups")
def groups_index():
    attribute, value = protocol.parse_filter(request.args.get("filter"))
    if attribute not in (None, "displayname"):
        raise ScimError(400, "Groups filter on displayName only.", "invalidFilter")
    start, count = protocol.paging()
    roles = scim.list_groups(current_tenant, display_name=value if attribute else None)
    page = roles[start - 1 : start - 1 + count]
    resources = [group_resource(current_tenant, _org(), r) for r in page]
    return protocol.list_response(resources, len(roles), start)


@bp.post("/Groups")
def groups_create():
    role = scim.create_group(current_tenant, _org(), protocol.body())
    resource = group_resource(current_tenant, _org(), role)
    return protocol.scim_json(resource, 201, {"Location": resource["meta"]["location"]})


@bp.get("/Groups/<group_id>")
def groups_show(group_id):
    role = scim.get_group(current_tenant, group_id)
    return protocol.scim_json(group_resource(current_tenant, _org(), role))


@bp.put("/Groups/<group_id>")
def groups_replace(group_id):
    role = scim.get_group(current_tenant, group_id)
    data = protocol.body()
    _check_name(role, data.get("displayName"))
    members = [m.get("value") for m in data.get("members") or [] if isinstance(m, dict)]
    scim.set_group_members(current_tenant, _org(), role, members)
    return protocol.scim_json(group_resource(current_tenant, _org(), role))


def _check_name(role, name) -> None:
    if name not in (None, role.name):
        raise ScimError(400, "Groups are roles; their displayName cannot change.", "mutability")


_MEMBER_FILTER = re.compile(r'^members\[value eq "([^"]+)"\]$', re.IGNORECASE)


def _member_ids(value) -> list[str]:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise ScimError(400, "members must be a list of {value}.", "invalidValue")
    return [str(m.get("value")) for m in value if isinstance(m, dict) and m.get("value")]


@bp.patch("/Groups/<group_id>")
def groups_patch(group_id):
    tenant, org = current_tenant, _org()
    role = scim.get_group(tenant, group_id)
    for op, path, value in protocol.operations(protocol.body()):
        lowered = (path or "").lower()
        single = _MEMBER_FILTER.match(path or "")
        if single and op == "remove":
            scim.remove_from_group(tenant, org, role, [single.group(1)])
        elif lowered == "members" and op == "add":
            scim.add_to_group(tenant, org, role, _member_ids(value))
        elif lowered == "members" and op == "remove":
            ids = (
                _member_ids(value)
                if value
                else [u.id for u in scim.group_members(tenant, org, role)]
            )
            scim.remove_from_group(tenant, org, role, ids)
        elif lowered == "members" and op == "replace":
            scim.set_group_members(tenant, org, role, _member_ids(value))
        elif lowered == "displayname":
            _check_name(role, value)
        elif path is None and isinstance(value, dict):
            _check_name(role, value.get("displayName"))
            if "members" in value:
                scim.set_group_members(tenant, org, role, _member_ids(value["members"]))
        else:
            raise ScimError(400, f"Unsupported operation on {path or 'the group'}.", "invalidPath")
    return protocol.scim_json(group_resource(tenant, org, role))


@bp.delete("/Groups/<group_id>")
def groups_delete(group_id):
    """The role stays a role of the tenant; this organization's members lose it."""
    role = scim.get_group(current_tenant, group_id)
    scim.set_group_members(current_tenant, _org(), role, [])
    return "", 204


discovery.register(bp)
