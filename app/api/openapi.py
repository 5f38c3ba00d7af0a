"""The OpenAPI 3.1 description of /v2/admin, generated from one table of operations and
served publicly at /v2/admin/openapi.json. Request bodies use the same schemas the views
validate against.

A new resource adds rows to ``OPERATIONS`` (path, method, summary, schemas, errors) and,
for a new path placeholder, an entry in ``PATH_PARAMS``; nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


# Every `{name}` placeholder of a path is described once here.
PATH_PARAMS = {
    "tenant": path_param("tenant", "Tenant id (`ten_...`) or slug.", "acme-corp"),
    "user_id": path_param("user_id", "User id (`usr_...`)."),
    "org": path_param("org", "Organization id (`org_...`) or slug."),
    "role": path_param("role", "Role id (`rol_...`) or tenant role name."),
    "invitation_id": path_param("invitation_id", "Invitation id (`inv_...`)."),
    "client_id": path_param("client_id", "Client id (`cli_...`)."),
    "provider_id": path_param("provider_id", "Provider id (`idp_...`)."),
    "session_id": path_param("session_id", "Session id (`ses_...`)."),
    "key_id": path_param("key_id", "Admin key id (`akey_...`)."),
    "connection_id": path_param("connection_id", "Connection id (`con_...`)."),
    "domain_id": path_param("domain_id", "Organization domain id (`odm_...`)."),
    "custom_domain_id": path_param("custom_domain_id", "Custom domain id (`dom_...`)."),
    "template_name": {
        "name": "template_name",
        "in": "path",
        "required": True,
        "description": "One of `verify_email`, `reset_password`, `invitation`, `login_code`.",
        "schema": {
            "type": "string",
            "enum": ["verify_email", "reset_password", "invitation", "login_code"],
        },
    },
    "token_id": path_param("token_id", "SCIM token id (`sct_...`)."),
    "webhook_id": path_param("webhook_id", "Webhook endpoint id (`wh_...`)."),
    "delivery_id": path_param("delivery_id", "Delivery id (`dlv_...`)."),
    "job_id": path_param("job_id", "Import job id (`imp_...`)."),
    "resource_id": path_param("resource_id", "API resource id (`res_...`)."),
    "registration_token_id": path_param(
        "registration_token_id", "Initial access token id (`iat_...`)."
    ),
}

PAGING = (
    query_param("cursor", "The `next_cursor` of the previous page.", {"type": "string"}),
    query_param(
        "limit",
        f"Page size, 1 to {MAX_LIMIT} (default 50).",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
    ),
)
SEARCH = (query_param("q", "Search text (case-insensitive substring)."), *PAGING)
LOCALE = (
    query_param(
        "locale",
        "`en`, `es`, `fr`, `de` or `pt-BR` (default: the tenant's `default_locale`).",
        {"type": "string", "enum": ["en", "es", "fr", "de", "pt-BR"]},
    ),
)
CONFIRM = (query_param("confirm", "Repeat the slug to confirm (or send it in the body)."),)


def enum_param(name: str, description: str, values: list[str]) -> dict:
    return query_param(name, description, {"type": "string", "enum": values})


PROBLEMS = {
    400: "Invalid input (see `errors`)",
    401: "Missing or invalid credential",
    403: "The credential does not allow this",
    404: "No such resource (or not visible to this credential)",
    405: "Method not allowed",
    409: "Conflicts with an existing resource",
    413: "The request body is too large",
    410: "No longer usable",
    415: "The body is not application/json",
    422: "Understood but cannot be processed",
    429: "Too many requests (see `Retry-After`)",
    503: "Temporarily unavailable (see `Retry-After`)",
}
COMMON_ERRORS = (400, 401, 403, 404, 405, 409, 415)


@dataclass(frozen=True)
class Operation:
    """One row of the API: where, what it takes, what it answers, how it can fail."""

    method: str
    path: str
    summary: str
    ok: int = 200
    out: dict | None = None
    body: str | None = None
    body_required: bool = True
    body_media: tuple[str, ...] = ()  # a binary body of these types instead of JSON
    query: tuple = ()
    errors: tuple[int, ...] = COMMON_ERRORS
    public: bool = False

    def document(self) -> dict:
        responses: dict = {}
        if self.out is None:
            responses[str(self.ok)] = {"description": "Done"}
        else:
            responses[str(self.ok)] = {
                "description": "OK",
                "content": {"application/json": {"schema": self.out}},
            }
        for status in self.errors:
            responses[str(status)] = {
                "description": PROBLEMS[status],
                "content": {"application/problem+json": {"schema": ref("Problem")}},
            }
        operation: dict = {"summary": self.summary, "responses": responses}
        if self.public:
            operation["security"] = []
        if self.query:
            operation["parameters"] = list(self.query)
        if self.body_media:
            binary = {"schema": {"type": "string", "format": "binary"}}
            content = {media: binary for media in self.body_media}
            content["multipart/form-data"] = {
                "schema": {
                    "type": "object",
                    "properties": {"logo": {"type": "string", "format": "binary"}},
                    "required": ["logo"],
                }
            }
            operation["requestBody"] = {"required": True, "content": content}
        elif self.body:
            operation["requestBody"] = {
                "required": self.body_required,
                "content": {"application/json": {"schema": ref(self.body)}},
            }
        return operation


Op = Operation

# fmt: off
OPERATIONS: list[Operation] = [
    # Tenants
    Op("get", "/v2/admin/tenants", "List tenants (instance credential)",
       out=listing("Tenant"), query=SEARCH),
    Op("post", "/v2/admin/tenants",
       "Create a tenant and invite its owner as admin (instance credential)",
       ok=201, out=ref("Tenant"), body="TenantCreate"),
    Op("get", T, "Read a tenant", out=ref("Tenant")),
    Op("patch", T, "Rename; suspend, resume or set quotas (instance credential)",
       out=ref("Tenant"), body="TenantUpdate"),
    Op("delete", T, "Delete a tenant and all it owns (instance credential)",
       ok=204, body="TenantDelete", query=CONFIRM, body_required=False),
    Op("get", f"{T}/settings", "Read the auth configuration", out=ref("Settings")),
    Op("patch", f"{T}/settings", "Change the auth configuration",
       out=ref("Settings"), body="SettingsUpdate"),
    # Users
    Op("get", f"{T}/users", "List and search users", out=listing("User"), query=SEARCH),
    Op("post", f"{T}/users", "Create a user (no password: they sign in another way)",
       ok=201, out=ref("User"), body="UserCreate"),
    Op("get", f"{T}/users/{{user_id}}", "Read a user", out=ref("User")),
    Op("patch", f"{T}/users/{{user_id}}",
       "Update a user; status `disabled` ends their sessions",
       out=ref("User"), body="UserUpdate"),
    Op("delete", f"{T}/users/{{user_id}}",
       "Erase a user: sessions and refresh tokens end, personal data goes, the audit "
       "trail stays pseudonymised", ok=204),
    Op("get", f"{T}/users/{{user_id}}/export",
       "Everything held about the user, as JSON (GDPR Art. 15/20)", out=ref("UserData")),
    Op("post", f"{T}/users/import",
       "Start an import job (JSON array, or JSON Lines as application/x-ndjson); answers "
       "202 with the job and its `Location`",
       ok=202, out=ref("ImportJob"), body="UserImportFile", errors=(*COMMON_ERRORS, 413)),
    Op("get", f"{T}/users/import/{{job_id}}", "An import job: progress and per-line errors",
       out=ref("ImportJob")),
    Op("get", f"{T}/export",
       "The tenant as one JSON document, streamed (settings, roles, organizations, "
       "providers without secrets, clients with secret digests, users with password hashes)",
       out=ref("TenantExport")),
    Op("put", f"{T}/users/{{user_id}}/roles", "Replace the user's tenant roles",
       out=ref("User"), body="RolesReplace"),
    Op("get", f"{T}/users/{{user_id}}/sessions", "The user's live sessions",
       out=listing("Session"), query=PAGING),
    Op("delete", f"{T}/users/{{user_id}}/sessions", "End every session of the user",
       out=ref("SessionsEnded")),
    Op("post", f"{T}/users/{{user_id}}/sessions/revoke", "End every session of the user",
       out=ref("SessionsEnded")),
    Op("delete", f"{T}/users/{{user_id}}/mfa",
       "Reset the user's MFA: remove every factor and recovery code", out=ref("MfaReset")),
    # Roles
    Op("get", f"{T}/roles", "List tenant and organization roles", out=listing("Role"),
       query=(enum_param("kind", "Only one kind.", ["tenant", "org"]), *PAGING)),
    Op("post", f"{T}/roles", "Create a custom role", ok=201, out=ref("Role"), body="RoleCreate"),
    Op("get", f"{T}/roles/{{role}}", "Read a role", out=ref("Role")),
    Op("patch", f"{T}/roles/{{role}}",
       "Change a role's description; `permissions` replaces its API permissions",
       out=ref("Role"), body="RoleUpdate"),
    Op("delete", f"{T}/roles/{{role}}", "Delete a custom role (holders lose it)", ok=204),
    # API resources (RFC 8707) and what users may hold
    Op("get", f"{T}/resources", "List API resources", out=listing("Resource"), query=PAGING),
    Op("post", f"{T}/resources",
       "Define an API: its `identifier` (the `aud` of its tokens) and permissions",
       ok=201, out=ref("Resource"), body="ResourceCreate"),
    Op("get", f"{T}/resources/{{resource_id}}", "Read an API resource", out=ref("Resource")),
    Op("patch", f"{T}/resources/{{resource_id}}",
       "Rename; replace permissions (removed ones leave roles and grants); token lifetime",
       out=ref("Resource"), body="ResourceUpdate"),
    Op("delete", f"{T}/resources/{{resource_id}}",
       "Delete an API resource (roles and clients lose its permissions)", ok=204),
    Op("get", f"{T}/users/{{user_id}}/permissions",
       "The user's effective permissions: tenant roles, plus roles in `org`",
       out=ref("UserPermissions"),
       query=(query_param("org", "An organization id or slug the user is a member of.",
                          {"type": "string", "maxLength": 100}),)),
    # Organizations and members
    Op("get", f"{T}/orgs", "List and search organizations", out=listing("Org"), query=SEARCH),
    Op("post", f"{T}/orgs", "Create an organization", ok=201, out=ref("Org"), body="OrgCreate"),
    Op("get", f"{T}/orgs/{{org}}", "Read an organization", out=ref("Org")),
    Op("patch", f"{T}/orgs/{{org}}", "Rename, re-slug, set auto-join domains",
       out=ref("Org"), body="OrgUpdate"),
    Op("delete", f"{T}/orgs/{{org}}", "Delete an organization (members stay users)",
       ok=204, body="OrgDelete", query=CONFIRM, body_required=False),
    Op("get", f"{T}/orgs/{{org}}/members", "List members", out=listing("Member"), query=PAGING),
    Op("post", f"{T}/orgs/{{org}}/members", "Add a member",
       ok=201, out=ref("Member"), body="MemberAdd"),
    Op("get", f"{T}/orgs/{{org}}/members/{{user_id}}", "Read a membership", out=ref("Member")),
    Op("delete", f"{T}/orgs/{{org}}/members/{{user_id}}",
       "Remove a member (not the last owner)", ok=204),
    Op("put", f"{T}/orgs/{{org}}/members/{{user_id}}/roles",
       "Replace a member's organization roles", out=ref("Member"), body="RolesReplace"),
    # Enterprise SSO of an organization: verified domains, connections, SCIM tokens
    Op("get", f"{T}/orgs/{{org}}/domains", "List the organization's email domains",
       out=listing("OrgDomain"), query=PAGING),
    Op("post", f"{T}/orgs/{{org}}/domains",
       "Claim an email domain (pending until its DNS TXT record is verified)",
       ok=201, out=ref("OrgDomain"), body="OrgDomainCreate"),
    Op("post", f"{T}/orgs/{{org}}/domains/{{domain_id}}/verify",
       "Check the domain's TXT record now (`operator: true` skips DNS; instance credential)",
       out=ref("OrgDomain"), body="OrgDomainVerify", body_required=False,
       errors=(*COMMON_ERRORS, 422)),
    Op("delete", f"{T}/orgs/{{org}}/domains/{{domain_id}}", "Remove a domain", ok=204),
    Op("get", f"{T}/orgs/{{org}}/connections", "List the organization's enterprise connections",
       out=listing("Connection"), query=PAGING),
    Op("post", f"{T}/orgs/{{org}}/connections",
       "Add a SAML 2.0 or OIDC connection; `client_secret` is write only",
       ok=201, out=ref("Connection"), body="ConnectionCreate"),
    Op("get", f"{T}/orgs/{{org}}/connections/{{connection_id}}", "Read a connection",
       out=ref("Connection")),
    Op("patch", f"{T}/orgs/{{org}}/connections/{{connection_id}}", "Change a connection",
       out=ref("Connection"), body="ConnectionUpdate"),
    Op("delete", f"{T}/orgs/{{org}}/connections/{{connection_id}}", "Delete a connection",
       ok=204),
    Op("get", f"{T}/orgs/{{org}}/scim-tokens", "List the organization's SCIM tokens",
       out=listing("ScimToken"), query=PAGING),
    Op("post", f"{T}/orgs/{{org}}/scim-tokens",
       "Create a SCIM token; the answer holds `token` once",
       ok=201, out=ref("ScimTokenCreated"), body="ScimTokenCreate"),
    Op("delete", f"{T}/orgs/{{org}}/scim-tokens/{{token_id}}", "Revoke a SCIM token", ok=204),
    # Custom domains of the tenant (the verified one is its issuer)
    Op("get", f"{T}/domains", "List the tenant's custom domains",
       out=listing("Domain"), query=PAGING),
    Op("post", f"{T}/domains",
       "Register a custom domain (pending until its `_gatehouse` TXT record is verified)",
       ok=201, out=ref("Domain"), body="DomainCreate"),
    Op("get", f"{T}/domains/{{custom_domain_id}}", "Read a custom domain", out=ref("Domain")),
    Op("post", f"{T}/domains/{{custom_domain_id}}/verify",
       "Check the TXT record now; once verified the domain routes and is the issuer "
       "(`operator: true` skips DNS; instance credential)",
       out=ref("Domain"), body="OrgDomainVerify", body_required=False,
       errors=(*COMMON_ERRORS, 422)),
    Op("delete", f"{T}/domains/{{custom_domain_id}}",
       "Remove a custom domain (the issuer falls back to the next verified one or the "
       "tenant's subdomain)", ok=204),
    # Email templates (sandboxed Jinja; refused at save time when they cannot render)
    Op("get", f"{T}/email-templates/{{template_name}}",
       "Read a mail template in `locale` (the tenant's own, else the built-in source)",
       out=ref("EmailTemplate"), query=LOCALE),
    Op("put", f"{T}/email-templates/{{template_name}}",
       "Replace a mail template in `locale` (rendered with sample values first)",
       out=ref("EmailTemplate"), body="EmailTemplatePut", query=LOCALE),
    Op("delete", f"{T}/email-templates/{{template_name}}",
       "Restore the built-in template in `locale`", ok=204, query=LOCALE),
    # The uploaded logo (sanitised; served by the hosted pages at its `url`)
    Op("get", f"{T}/logo", "Read the uploaded logo's metadata", out=ref("Logo")),
    Op("put", f"{T}/logo",
       "Upload the logo: PNG or JPEG (re-encoded) or SVG (reduced to an allowlist), "
       "at most 256 KB and 2048 px a side", out=ref("Logo"),
       body_media=("image/png", "image/jpeg", "image/svg+xml"),
       errors=(*COMMON_ERRORS, 413)),
    Op("delete", f"{T}/logo", "Remove the uploaded logo", ok=204),
    # Invitations
    Op("get", f"{T}/invitations", "List invitations", out=listing("Invitation"),
       query=(enum_param("status", "Only one status.",
                         ["pending", "accepted", "revoked", "expired"]), *PAGING)),
    Op("post", f"{T}/invitations", "Invite by email (link sent by mail)",
       ok=201, out=ref("Invitation"), body="InvitationCreate"),
    Op("get", f"{T}/invitations/{{invitation_id}}", "Read an invitation", out=ref("Invitation")),
    Op("post", f"{T}/invitations/{{invitation_id}}/resend",
       "Mail a fresh link (the old one stops working)", out=ref("Invitation")),
    Op("post", f"{T}/invitations/{{invitation_id}}/revoke",
       "Withdraw a pending invitation", out=ref("Invitation")),
    # OAuth clients
    Op("get", f"{T}/clients", "List OAuth clients", out=listing("Client"), query=PAGING),
    Op("post", f"{T}/clients", "Register a client; the answer holds `client_secret` once",
       ok=201, out=ref("Client"), body="ClientCreate"),
    Op("get", f"{T}/clients/{{client_id}}", "Read a client", out=ref("Client")),
    Op("patch", f"{T}/clients/{{client_id}}", "Change a client's metadata",
       out=ref("Client"), body="ClientUpdate"),
    Op("delete", f"{T}/clients/{{client_id}}", "Delete a client (its grants go too)", ok=204),
    Op("post", f"{T}/clients/{{client_id}}/secret",
       "Rotate the secret; the answer holds it once", out=ref("ClientSecret")),
    # Initial access tokens for dynamic client registration (RFC 7591 §3)
    Op("get", f"{T}/registration-tokens",
       "List initial access tokens (for `/oauth2/register` when `dynamic_registration` is "
       "`initial_access_token`)", out=listing("RegistrationToken"), query=PAGING),
    Op("post", f"{T}/registration-tokens",
       "Mint an initial access token (optional `expires_in` seconds, `max_uses`); the "
       "answer holds `token` once", ok=201, out=ref("RegistrationTokenCreated"),
       body="RegistrationTokenCreate"),
    Op("delete", f"{T}/registration-tokens/{{registration_token_id}}",
       "Revoke an initial access token (clients it registered stay)", ok=204),
    # Upstream identity providers
    Op("get", f"{T}/providers", "List upstream identity providers",
       out=listing("Provider"), query=PAGING),
    Op("post", f"{T}/providers",
       "Register an upstream identity provider (OpenID Connect, Google, Microsoft, "
       "GitHub); `client_secret` is write only",
       ok=201, out=ref("Provider"), body="ProviderCreate"),
    Op("get", f"{T}/providers/{{provider_id}}", "Read an upstream identity provider",
       out=ref("Provider")),
    Op("patch", f"{T}/providers/{{provider_id}}",
       "Change a provider (a new `client_secret` replaces the old one)",
       out=ref("Provider"), body="ProviderUpdate"),
    Op("delete", f"{T}/providers/{{provider_id}}",
       "Delete a provider (its linked identities go too)", ok=204),
    # Signing keys, sessions, audit
    Op("get", f"{T}/keys", "List signing keys (public parts)",
       out=listing("SigningKey"), query=PAGING),
    Op("post", f"{T}/keys/rotate", "Rotate signing keys (next → active → retiring)",
       out=listing("SigningKey")),
    Op("get", f"{T}/sessions", "List live browser sessions", out=listing("Session"),
       query=(query_param("user_id", "Only this user's.", {"type": "string", "maxLength": 40}),
              *PAGING)),
    Op("delete", f"{T}/sessions/{{session_id}}", "End a session (and its refresh tokens)",
       ok=204),
    Op("get", f"{T}/usage",
       "Daily usage: sign-ins and failures, tokens per grant type, active users, sign-ups, "
       "API calls and 429s (`from`, `to`: dates, inclusive; default the last 30 days)",
       out=ref("Usage"),
       query=(query_param("from", "First day, YYYY-MM-DD.", {"type": "string", "format": "date"}),
              query_param("to", "Last day, YYYY-MM-DD.", {"type": "string", "format": "date"}))),
    Op("get", f"{T}/audit", "Audit events, newest first", out=listing("AuditEvent"),
       query=(
           query_param("actor", "Actor id (user, API key or client).",
                       {"type": "string", "maxLength": 80}),
           query_param("action", "Action, or a prefix such as `user.*`.",
                       {"type": "string", "maxLength": 64}),
           query_param("target", "Target id.", {"type": "string", "maxLength": 80}),
           query_param("since", "From this time (inclusive).",
                       {"type": "string", "format": "date-time"}),
           query_param("until", "Before this time.", {"type": "string", "format": "date-time"}),
           *PAGING,
       )),
    # Webhooks and events (the system tenant's endpoints receive `tenant.*`)
    Op("get", f"{T}/webhooks", "List webhook endpoints", out=listing("Webhook"), query=PAGING),
    Op("post", f"{T}/webhooks",
       "Add a webhook endpoint; the answer holds its `secret` (`whsec_…`) once",
       ok=201, out=ref("Webhook"), body="WebhookCreate"),
    Op("get", f"{T}/webhooks/{{webhook_id}}", "Read a webhook endpoint", out=ref("Webhook")),
    Op("patch", f"{T}/webhooks/{{webhook_id}}",
       "Change url, events, description; `enabled: true` re-enables a disabled endpoint",
       out=ref("Webhook"), body="WebhookUpdate"),
    Op("delete", f"{T}/webhooks/{{webhook_id}}", "Delete an endpoint and its delivery log",
       ok=204),
    Op("post", f"{T}/webhooks/{{webhook_id}}/secret",
       "Rotate the signing secret; the old one also signs during `overlap_seconds`",
       out=ref("WebhookSecret"), body="WebhookSecretRotate", body_required=False),
    Op("post", f"{T}/webhooks/{{webhook_id}}/test", "Queue a `webhook.test` event for it",
       ok=202, out=ref("WebhookDelivery")),
    Op("get", f"{T}/webhooks/{{webhook_id}}/deliveries", "The delivery log, newest first",
       out=listing("WebhookDelivery"), query=PAGING),
    Op("post", f"{T}/webhooks/{{webhook_id}}/deliveries/{{delivery_id}}/redeliver",
       "Send a delivery again (same `webhook-id`)", ok=202, out=ref("WebhookDelivery")),
    Op("get", f"{T}/events",
       "Poll events, oldest first after `cursor` (`next_cursor` is where to resume)",
       out=ref("EventPage"),
       query=(query_param("type", "Only this type, or a family such as `user.*`.",
                          {"type": "string", "maxLength": 64}), *PAGING)),
    # Admin API keys
    Op("get", f"{T}/admin-keys", "List the tenant's admin API keys",
       out=listing("AdminKey"), query=PAGING),
    Op("post", f"{T}/admin-keys", "Create a tenant admin API key; the answer holds `key` once",
       ok=201, out=ref("AdminKeyCreated"), body="AdminKeyCreate", body_required=False),
    Op("delete", f"{T}/admin-keys/{{key_id}}", "Revoke a tenant admin API key", ok=204),
    Op("get", "/v2/admin/admin-keys", "List instance admin API keys (instance credential)",
       out=listing("AdminKey"), query=PAGING),
    Op("post", "/v2/admin/admin-keys", "Create an instance admin API key (instance credential)",
       ok=201, out=ref("AdminKeyCreated"), body="AdminKeyCreate", body_required=False),
    Op("delete", "/v2/admin/admin-keys/{key_id}",
       "Revoke an instance admin API key (instance credential)", ok=204),
    # This document
    Op("get", "/v2/admin/openapi.json", "This document",
       out={"type": "object"}, errors=(), public=True),
]
# fmt: on


def build_paths(operations: list[Operation]) -> dict:
    """Group the rows by path; path parameters come from the placeholders."""
    paths: dict[str, dict] = {}
    for operation in operations:
        item = paths.get(operation.path)
        if item is None:
            names = re.findall(r"{(\w+)}", operation.path)
            item = paths[operation.path] = {}
            if names:
                item["parameters"] = [PATH_PARAMS[name] for name in names]
        if operation.method in item:
            raise ValueError(f"{operation.method} {operation.path} is listed twice")
        item[operation.method] = operation.document()
    return paths


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
        "paths": build_paths(OPERATIONS),
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
