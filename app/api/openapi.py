"""The OpenAPI 3.1 description of /v2/admin, built as Python data and served publicly at
/v2/admin/openapi.json. Request bodies use the same schemas the views validate against."""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.pagination import MAX_LIMIT
from app.api.schemas import SCHEMAS

T = "/v2/admin/tenants/{tenant}"


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def listing(item: str) -> dict:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": ref(item)},
            "next_cursor": {"type": ["string", "null"]},
        },
        "required": ["items", "next_cursor"],
    }


def path_param(name: str, description: str, example: str | None = None) -> dict:
    param = {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "minLength": 1, "maxLength": 100},
    }
    if example:
        param["example"] = example
    return param


def query_param(name: str, description: str, schema: dict | None = None) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string", "maxLength": 200},
    }


PAGING = [
    query_param("cursor", "The `next_cursor` of the previous page.", {"type": "string"}),
    query_param(
        "limit",
        f"Page size, 1 to {MAX_LIMIT} (default 50).",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
    ),
]
SEARCH = [query_param("q", "Search text (case-insensitive substring)."), *PAGING]
CONFIRM = [query_param("confirm", "Repeat the slug to confirm (or send it in the body).")]

_ERRORS = {
    400: "Invalid input (see `errors`)",
    401: "Missing or invalid credential",
    403: "The credential does not allow this",
    404: "No such resource (or not visible to this credential)",
    405: "Method not allowed",
    409: "Conflicts with an existing resource",
    410: "No longer usable",
    415: "The body is not application/json",
}


def problem_response(status: int) -> dict:
    return {
        "description": _ERRORS[status],
        "content": {"application/problem+json": {"schema": ref("Problem")}},
    }


def op(
    summary: str,
    *,
    ok: int = 200,
    out: dict | None = None,
    body: str | None = None,
    params: list | None = None,
    body_required: bool = True,
) -> dict:
    """One operation; every operation may answer the common problems."""
    responses: dict = {}
    if out is None:
        responses[str(ok)] = {"description": "Done"}
    else:
        responses[str(ok)] = {
            "description": "OK",
            "content": {"application/json": {"schema": out}},
        }
    for status in (400, 401, 403, 404, 405, 409, 415):
        responses[str(status)] = problem_response(status)
    operation = {"summary": summary, "responses": responses}
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": ref(body)}},
        }
    return operation


TENANT = path_param("tenant", "Tenant id (`ten_...`) or slug.", "acme-corp")
USER = path_param("user_id", "User id (`usr_...`).")
ORG = path_param("org", "Organization id (`org_...`) or slug.")


def _paths() -> dict:
    return {
        "/v2/admin/tenants": {
            "get": op("List tenants (instance credential)", out=listing("Tenant"), params=SEARCH),
            "post": op(
                "Create a tenant and invite its owner as admin (instance credential)",
                ok=201,
                out=ref("Tenant"),
                body="TenantCreate",
            ),
        },
        T: {
            "parameters": [TENANT],
            "get": op("Read a tenant", out=ref("Tenant")),
            "patch": op(
                "Rename; suspend or resume (instance credential)",
                out=ref("Tenant"),
                body="TenantUpdate",
            ),
            "delete": op(
                "Delete a tenant and all it owns (instance credential)",
                ok=204,
                body="TenantDelete",
                params=CONFIRM,
                body_required=False,
            ),
        },
        f"{T}/settings": {
            "parameters": [TENANT],
            "get": op("Read the auth configuration", out=ref("Settings")),
            "patch": op(
                "Change the auth configuration", out=ref("Settings"), body="SettingsUpdate"
            ),
        },
        f"{T}/users": {
            "parameters": [TENANT],
            "get": op("List and search users", out=listing("User"), params=SEARCH),
            "post": op(
                "Create a user (no password: they sign in another way)",
                ok=201,
                out=ref("User"),
                body="UserCreate",
            ),
        },
        f"{T}/users/{{user_id}}": {
            "parameters": [TENANT, USER],
            "get": op("Read a user", out=ref("User")),
            "patch": op(
                "Update a user; status `disabled` ends their sessions",
                out=ref("User"),
                body="UserUpdate",
            ),
            "delete": op("Delete a user", ok=204),
        },
        f"{T}/users/{{user_id}}/roles": {
            "parameters": [TENANT, USER],
            "put": op("Replace the user's tenant roles", out=ref("User"), body="RolesReplace"),
        },
        f"{T}/users/{{user_id}}/sessions": {
            "parameters": [TENANT, USER],
            "get": op("The user's live sessions", out=listing("Session"), params=PAGING),
            "delete": op("End every session of the user", out=ref("SessionsEnded")),
        },
        f"{T}/users/{{user_id}}/mfa": {
            "parameters": [TENANT, USER],
            "delete": op(
                "Reset the user's MFA: remove every factor and recovery code",
                out=ref("MfaReset"),
            ),
        },
        f"{T}/users/{{user_id}}/sessions/revoke": {
            "parameters": [TENANT, USER],
            "post": op("End every session of the user", out=ref("SessionsEnded")),
        },
        f"{T}/roles": {
            "parameters": [TENANT],
            "get": op(
                "List tenant and organization roles",
                out=listing("Role"),
                params=[
                    query_param(
                        "kind", "Only one kind.", {"type": "string", "enum": ["tenant", "org"]}
                    ),
                    *PAGING,
                ],
            ),
            "post": op("Create a custom role", ok=201, out=ref("Role"), body="RoleCreate"),
        },
        f"{T}/roles/{{role}}": {
            "parameters": [TENANT, path_param("role", "Role id (`rol_...`) or tenant role name.")],
            "get": op("Read a role", out=ref("Role")),
            "patch": op("Change a role's description", out=ref("Role"), body="RoleUpdate"),
            "delete": op("Delete a custom role (holders lose it)", ok=204),
        },
        f"{T}/orgs": {
            "parameters": [TENANT],
            "get": op("List and search organizations", out=listing("Org"), params=SEARCH),
            "post": op("Create an organization", ok=201, out=ref("Org"), body="OrgCreate"),
        },
        f"{T}/orgs/{{org}}": {
            "parameters": [TENANT, ORG],
            "get": op("Read an organization", out=ref("Org")),
            "patch": op("Rename, re-slug, set auto-join domains", out=ref("Org"), body="OrgUpdate"),
            "delete": op(
                "Delete an organization (members stay users)",
                ok=204,
                body="OrgDelete",
                params=CONFIRM,
                body_required=False,
            ),
        },
        f"{T}/orgs/{{org}}/members": {
            "parameters": [TENANT, ORG],
            "get": op("List members", out=listing("Member"), params=PAGING),
            "post": op("Add a member", ok=201, out=ref("Member"), body="MemberAdd"),
        },
        f"{T}/orgs/{{org}}/members/{{user_id}}": {
            "parameters": [TENANT, ORG, USER],
            "get": op("Read a membership", out=ref("Member")),
            "delete": op("Remove a member (not the last owner)", ok=204),
        },
        f"{T}/orgs/{{org}}/members/{{user_id}}/roles": {
            "parameters": [TENANT, ORG, USER],
            "put": op(
                "Replace a member's organization roles", out=ref("Member"), body="RolesReplace"
            ),
        },
        f"{T}/invitations": {
            "parameters": [TENANT],
            "get": op(
                "List invitations",
                out=listing("Invitation"),
                params=[
                    query_param(
                        "status",
                        "Only one status.",
                        {"type": "string", "enum": ["pending", "accepted", "revoked", "expired"]},
                    ),
                    *PAGING,
                ],
            ),
            "post": op(
                "Invite by email (link sent by mail)",
                ok=201,
                out=ref("Invitation"),
                body="InvitationCreate",
            ),
        },
        f"{T}/invitations/{{invitation_id}}": {
            "parameters": [TENANT, path_param("invitation_id", "Invitation id (`inv_...`).")],
            "get": op("Read an invitation", out=ref("Invitation")),
        },
        f"{T}/invitations/{{invitation_id}}/resend": {
            "parameters": [TENANT, path_param("invitation_id", "Invitation id (`inv_...`).")],
            "post": op("Mail a fresh link (the old one stops working)", out=ref("Invitation")),
        },
        f"{T}/invitations/{{invitation_id}}/revoke": {
            "parameters": [TENANT, path_param("invitation_id", "Invitation id (`inv_...`).")],
            "post": op("Withdraw a pending invitation", out=ref("Invitation")),
        },
        f"{T}/clients": {
            "parameters": [TENANT],
            "get": op("List OAuth clients", out=listing("Client"), params=PAGING),
            "post": op(
                "Register a client; the answer holds `client_secret` once",
                ok=201,
                out=ref("Client"),
                body="ClientCreate",
            ),
        },
        f"{T}/clients/{{client_id}}": {
            "parameters": [TENANT, path_param("client_id", "Client id (`cli_...`).")],
            "get": op("Read a client", out=ref("Client")),
            "patch": op("Change a client's metadata", out=ref("Client"), body="ClientUpdate"),
            "delete": op("Delete a client (its grants go too)", ok=204),
        },
        f"{T}/clients/{{client_id}}/secret": {
            "parameters": [TENANT, path_param("client_id", "Client id (`cli_...`).")],
            "post": op("Rotate the secret; the answer holds it once", out=ref("ClientSecret")),
        },
        f"{T}/providers": {
            "parameters": [TENANT],
            "get": op("List upstream identity providers", out=listing("Provider"), params=PAGING),
            "post": op(
                "Register an upstream identity provider (OpenID Connect, Google, Microsoft, "
                "GitHub); `client_secret` is write only",
                ok=201,
                out=ref("Provider"),
                body="ProviderCreate",
            ),
        },
        f"{T}/providers/{{provider_id}}": {
            "parameters": [TENANT, path_param("provider_id", "Provider id (`idp_...`).")],
            "get": op("Read an upstream identity provider", out=ref("Provider")),
            "patch": op(
                "Change a provider (a new `client_secret` replaces the old one)",
                out=ref("Provider"),
                body="ProviderUpdate",
            ),
            "delete": op("Delete a provider (its linked identities go too)", ok=204),
        },
        f"{T}/keys": {
            "parameters": [TENANT],
            "get": op("List signing keys (public parts)", out=listing("SigningKey"), params=PAGING),
        },
        f"{T}/keys/rotate": {
            "parameters": [TENANT],
            "post": op("Rotate signing keys (next → active → retiring)", out=listing("SigningKey")),
        },
        f"{T}/sessions": {
            "parameters": [TENANT],
            "get": op(
                "List live browser sessions",
                out=listing("Session"),
                params=[
                    query_param(
                        "user_id", "Only this user's.", {"type": "string", "maxLength": 40}
                    ),
                    *PAGING,
                ],
            ),
        },
        f"{T}/sessions/{{session_id}}": {
            "parameters": [TENANT, path_param("session_id", "Session id (`ses_...`).")],
            "delete": op("End a session (and its refresh tokens)", ok=204),
        },
        f"{T}/audit": {
            "parameters": [TENANT],
            "get": op(
                "Audit events, newest first",
                out=listing("AuditEvent"),
                params=[
                    query_param(
                        "actor",
                        "Actor id (user, API key or client).",
                        {"type": "string", "maxLength": 80},
                    ),
                    query_param(
                        "action",
                        "Action, or a prefix such as `user.*`.",
                        {"type": "string", "maxLength": 64},
                    ),
                    query_param("target", "Target id.", {"type": "string", "maxLength": 80}),
                    query_param(
                        "since",
                        "From this time (inclusive).",
                        {"type": "string", "format": "date-time"},
                    ),
                    query_param(
                        "until", "Before this time.", {"type": "string", "format": "date-time"}
                    ),
                    *PAGING,
                ],
            ),
        },
        f"{T}/admin-keys": {
            "parameters": [TENANT],
            "get": op("List the tenant's admin API keys", out=listing("AdminKey"), params=PAGING),
            "post": op(
                "Create a tenant admin API key; the answer holds `key` once",
                ok=201,
                out=ref("AdminKeyCreated"),
                body="AdminKeyCreate",
                body_required=False,
            ),
        },
        f"{T}/admin-keys/{{key_id}}": {
            "parameters": [TENANT, path_param("key_id", "Admin key id (`akey_...`).")],
            "delete": op("Revoke a tenant admin API key", ok=204),
        },
        "/v2/admin/admin-keys": {
            "get": op(
                "List instance admin API keys (instance credential)",
                out=listing("AdminKey"),
                params=PAGING,
            ),
            "post": op(
                "Create an instance admin API key (instance credential)",
                ok=201,
                out=ref("AdminKeyCreated"),
                body="AdminKeyCreate",
                body_required=False,
            ),
        },
        "/v2/admin/admin-keys/{key_id}": {
            "parameters": [path_param("key_id", "Admin key id (`akey_...`).")],
            "delete": op("Revoke an instance admin API key (instance credential)", ok=204),
        },
        "/v2/admin/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


def build_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Gatehouse admin API",
            "version": "2",
            "description": (
                "Manage tenants and everything in them. Authenticate with "
                "`Authorization: Bearer <admin API key>` (instance keys reach every tenant, "
                "tenant keys only theirs) or with a system-tenant access token obtained "
                "with client_credentials and scope `admin`. `{tenant}` is an id or a slug; "
                "a tenant out of the credential's reach answers 404. Lists answer "
                "`{items, next_cursor}`; errors are RFC 9457 problem+json."
            ),
        },
        "paths": _paths(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": (
                        "An admin API key (`gh_admin_...`) or a system-tenant access token "
                        "with scope `admin`."
                    ),
                }
            },
        },
        "security": [{"bearer": []}],
    }


DOCUMENT = build_document()


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(DOCUMENT)
