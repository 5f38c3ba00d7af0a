"""JSON Schemas (OpenAPI 3.1 = JSON Schema 2020-12) of every request and response body.

Request bodies are closed (``additionalProperties: false``) and are enforced by
:mod:`app.api.validation`, so what the document says is what the API does.
"""

from __future__ import annotations

from app.services.settings import _ENUMS as SETTING_ENUMS
from app.services.settings import _RANGES as SETTING_RANGES
from app.services.settings import DEFAULTS as SETTING_DEFAULTS
from app.services.settings import LOCALES as SETTING_LOCALES

ID = {"type": "string", "maxLength": 40}
SLUG = {"type": "string", "minLength": 1, "maxLength": 63, "pattern": "^[a-z0-9-]+$"}
NAME = {"type": "string", "minLength": 1, "maxLength": 200}
EMAIL = {"type": "string", "minLength": 3, "maxLength": 320}
TIME = {"type": "string", "format": "date-time"}
TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
ROLE_NAMES = {"type": "array", "maxItems": 50, "items": {"type": "string", "maxLength": 64}}
URLS = {"type": "array", "maxItems": 50, "items": {"type": "string", "maxLength": 2000}}
METADATA = {
    "type": "object",
    "description": "Free-form JSON object, at most 16 KB (replaced as a whole).",
}
EXTERNAL_ID = {
    "type": ["string", "null"],
    "minLength": 1,
    "maxLength": 255,
    "description": "The user's id in the system they came from (unique in the tenant).",
}
DOMAINS = {"type": "array", "maxItems": 100, "items": {"type": "string", "maxLength": 253}}
RESOURCE_IDENTIFIER = {
    "type": "string",
    "minLength": 1,
    "maxLength": 500,
    "description": "An absolute URI without fragment (RFC 8707); the `aud` of its tokens.",
}
PERMISSION_NAME = {"type": "string", "minLength": 1, "maxLength": 100}
PERMISSION_REF = {
    "type": "object",
    "properties": {"resource": RESOURCE_IDENTIFIER, "permission": PERMISSION_NAME},
    "required": ["resource", "permission"],
    "additionalProperties": False,
}
PERMISSION_REFS = {
    "type": "array",
    "maxItems": 500,
    "items": PERMISSION_REF,
    "description": "Permissions of the tenant's resources; replaces the list.",
}
RESOURCE_GRANTS = {
    "type": "array",
    "maxItems": 100,
    "description": "What client_credentials tokens may carry, per resource, and which "
    "resources a token exchange (RFC 8693) may target (replaces the list).",
    "items": {
        "type": "object",
        "properties": {
            "resource": RESOURCE_IDENTIFIER,
            "permissions": {"type": "array", "maxItems": 100, "items": PERMISSION_NAME},
        },
        "required": ["resource", "permissions"],
        "additionalProperties": False,
    },
}


def closed(properties: dict, required: tuple = ()) -> dict:
    """A request object: only these fields, these ones required."""
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


def resource(properties: dict, required: tuple | None = None) -> dict:
    """A response object: ``id`` and ``created_at`` plus the resource's fields."""
    props = {"id": ID, **properties, "created_at": TIME}
    return {
        "type": "object",
        "properties": props,
        "required": list(required if required is not None else props),
    }


def _setting_schema(key: str) -> dict:
    if key in SETTING_ENUMS:
        return {"type": "string", "enum": sorted(SETTING_ENUMS[key])}
    if key in SETTING_RANGES:
        low, high = SETTING_RANGES[key]
        return {"type": "integer", "minimum": low, "maximum": high}
    default = SETTING_DEFAULTS[key]
    if isinstance(default, bool):
        return {"type": "boolean"}
    if key == "allowed_email_domains":
        return DOMAINS
    if key == "mfa_factors":
        return {"type": "array", "items": {"type": "string", "enum": ["totp", "webauthn"]}}
    if key == "login_methods":
        return {
            "type": "array",
            "items": {
                "type": "string",
                "enum": ["email_code", "magic_link", "passkey", "password", "upstream"],
            },
        }
    if key == "custom_claims":
        return {
            "type": "object",
            "maxProperties": 20,
            "description": (
                "Claim name → key of the user's `metadata`, added to ID and access tokens. "
                "Names are namespaced (`https://your-domain/name`) or plain names that are "
                "no standard or reserved claim."
            ),
            "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 100},
        }
    if key == "default_locale":
        return {"type": "string", "enum": list(SETTING_LOCALES)}
    if key == "locales":
        return {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "enum": list(SETTING_LOCALES)},
        }
    if key == "mail_sender_name":
        return {"type": "string", "maxLength": 100}
    if key == "mail_reply_to":
        return {"type": "string", "maxLength": 320}
    if key == "branding":
        return closed(
            {
                "display_name": {"type": "string", "maxLength": 100},
                "logo_url": {"type": "string", "maxLength": 2000},
                "primary_color": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
            }
        )
    raise KeyError(key)


SETTINGS_FIELDS = {key: _setting_schema(key) for key in SETTING_DEFAULTS}

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` maps a field to what is wrong with it.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "required": ["type", "title", "status"],
}


def _quota(kind: str, minimum) -> dict:
    return {"type": [kind, "null"], "minimum": minimum, "maximum": 1_000_000_000}


QUOTA_FIELDS = {
    "token_requests_per_second": {**_quota("number", 0), "exclusiveMinimum": 0},
    "token_burst": _quota("integer", 1),
    "signups_per_day": _quota("integer", 0),
    "max_users": _quota("integer", 0),
    "max_organizations": _quota("integer", 0),
    "max_clients": _quota("integer", 0),
    "monthly_active_users": _quota("integer", 0),
}
for _field in QUOTA_FIELDS.values():
    if "exclusiveMinimum" in _field:
        del _field["minimum"]
QUOTAS = {
    "type": "object",
    "description": "Per-tenant limits; null = unlimited. Only an instance credential sets them.",
    "properties": QUOTA_FIELDS,
    "additionalProperties": False,
}
USAGE_DAY = {
    "type": "object",
    "properties": {
        "date": {"type": "string", "format": "date"},
        "sign_ins": {"type": "integer"},
        "sign_in_failures": {"type": "integer"},
        "tokens": {
            "type": "object",
            "description": "Tokens issued, per grant type.",
            "additionalProperties": {"type": "integer"},
        },
        "active_users": {"type": "integer"},
        "monthly_active_users": {"type": "integer"},
        "signups": {"type": "integer"},
        "api_calls": {"type": "integer"},
        "throttled": {"type": "integer", "description": "Requests answered 429 by a quota."},
    },
    "required": [
        "date",
        "sign_ins",
        "sign_in_failures",
        "tokens",
        "active_users",
        "monthly_active_users",
        "signups",
        "api_calls",
        "throttled",
    ],
}

SCHEMAS: dict[str, dict] = {
    "Problem": PROBLEM,
    # --- tenants
    "Tenant": resource(
        {
            "slug": SLUG,
            "name": NAME,
            "status": {"type": "string", "enum": ["active", "suspended"]},
            "issuer": {"type": "string"},
            "quotas": QUOTAS,
        }
    ),
    "TenantCreate": closed(
        {"name": NAME, "slug": SLUG, "owner_email": EMAIL}, ("name", "slug", "owner_email")
    ),
    "TenantUpdate": closed(
        {
            "name": NAME,
            "status": {"type": "string", "enum": ["active", "suspended"]},
            "quotas": QUOTAS,
        }
    ),
    "Usage": {
        "type": "object",
        "properties": {
            "tenant_id": ID,
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "days": {"type": "array", "items": USAGE_DAY},
            "totals": {"type": "object"},
            "quotas": QUOTAS,
        },
        "required": ["tenant_id", "from", "to", "days", "totals", "quotas"],
    },
    "TenantDelete": closed({"confirm": {"type": "string", "maxLength": 63}}),
    # --- settings
    "Settings": {
        "type": "object",
        "properties": SETTINGS_FIELDS,
        "required": list(SETTINGS_FIELDS),
    },
    "SettingsUpdate": closed(SETTINGS_FIELDS),
    # --- users
    "User": resource(
        {
            "email": {"type": "string"},
            "name": {"type": "string"},
            "email_verified": {"type": "boolean"},
            "status": {"type": "string", "enum": ["active", "disabled"]},
            "roles": {"type": "array", "items": {"type": "string"}},
            "has_password": {"type": "boolean"},
            "external_id": {"type": ["string", "null"]},
            "metadata": {"type": "object"},
            "last_login_at": TIME_OR_NULL,
        }
    ),
    "UserCreate": closed(
        {
            "email": EMAIL,
            "name": {"type": "string", "maxLength": 200},
            "password": {"type": "string", "maxLength": 128},
            "email_verified": {"type": "boolean"},
            "roles": ROLE_NAMES,
            "metadata": METADATA,
            "external_id": EXTERNAL_ID,
        },
        ("email",),
    ),
    "UserUpdate": closed(
        {
            "email": EMAIL,
            "name": {"type": "string", "maxLength": 200},
            "password": {"type": "string", "maxLength": 128},
            "email_verified": {"type": "boolean"},
            "status": {"type": "string", "enum": ["active", "disabled"]},
            "roles": ROLE_NAMES,
            "metadata": METADATA,
            "external_id": EXTERNAL_ID,
        }
    ),
    "RolesReplace": closed({"roles": ROLE_NAMES}, ("roles",)),
    "MfaReset": {
        "type": "object",
        "properties": {"removed": {"type": "integer", "minimum": 0}},
        "required": ["removed"],
    },
    "SessionsEnded": {
        "type": "object",
        "properties": {"ended": {"type": "integer", "minimum": 0}},
        "required": ["ended"],
    },
    # --- roles
    "Role": resource(
        {
            "kind": {"type": "string", "enum": ["tenant", "org"]},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "builtin": {"type": "boolean"},
            "permissions": {"type": "array", "items": PERMISSION_REF},
        }
    ),
    "RoleCreate": closed(
        {
            "kind": {"type": "string", "enum": ["tenant", "org"]},
            "name": {"type": "string", "minLength": 1, "maxLength": 64},
            "description": {"type": "string", "maxLength": 300},
            "permissions": PERMISSION_REFS,
        },
        ("name",),
    ),
    "RoleUpdate": closed(
        {"description": {"type": "string", "maxLength": 300}, "permissions": PERMISSION_REFS}
    ),
    # --- organizations
    "Org": resource({"name": {"type": "string"}, "slug": {"type": "string"}, "domains": DOMAINS}),
    "OrgCreate": closed({"name": NAME, "slug": SLUG, "domains": DOMAINS}, ("name",)),
    "OrgUpdate": closed({"name": NAME, "slug": SLUG, "domains": DOMAINS}),
    "OrgDelete": closed({"confirm": {"type": "string", "maxLength": 63}}),
    "Member": resource(
        {
            "user_id": ID,
            "email": {"type": "string"},
            "name": {"type": "string"},
            "roles": {"type": "array", "items": {"type": "string"}},
        }
    ),
    "MemberAdd": closed({"user_id": ID, "roles": ROLE_NAMES}, ("user_id",)),
    # --- invitations
    "Invitation": resource(
        {
            "email": {"type": "string"},
            "org_id": {"type": ["string", "null"]},
            "roles": {"type": "array", "items": {"type": "string"}},
            "org_roles": {"type": "array", "items": {"type": "string"}},
            "status": {"type": "string", "enum": ["pending", "accepted", "revoked", "expired"]},
            "invited_by": {"type": ["string", "null"]},
            "expires_at": TIME,
            "accepted_at": TIME_OR_NULL,
        }
    ),
    "InvitationCreate": closed(
        {
            "email": EMAIL,
            "org_id": {"type": ["string", "null"], "maxLength": 40},
            "roles": ROLE_NAMES,
            "org_roles": ROLE_NAMES,
        },
        ("email",),
    ),
    # --- clients (RFC 7591 names)
    "Client": {
        "type": "object",
        "properties": {
            "client_id": ID,
            "client_name": {"type": "string"},
            "redirect_uris": {"type": "array", "items": {"type": "string"}},
            "grant_types": {"type": "array", "items": {"type": "string"}},
            "token_endpoint_auth_method": {"type": "string"},
            "require_pushed_authorization_requests": {"type": "boolean"},
            "dpop_bound_access_tokens": {"type": "boolean"},
            "resource_grants": RESOURCE_GRANTS,
            "backchannel_logout_uri": {"type": ["string", "null"]},
            "backchannel_logout_session_required": {"type": "boolean"},
            "jwks": {"type": ["object", "null"]},
            "jwks_uri": {"type": ["string", "null"]},
            "client_secret": {
                "type": "string",
                "description": "Only in the create and rotate answers.",
            },
        },
        "required": ["client_id", "client_name"],
    },
    "ClientSecret": {
        "type": "object",
        "properties": {"client_id": ID, "client_secret": {"type": "string"}},
        "required": ["client_id", "client_secret"],
    },
    "ClientCreate": closed(
        {
            "client_name": NAME,
            "redirect_uris": URLS,
            "post_logout_redirect_uris": URLS,
            "grant_types": {
                "type": "array",
                "maxItems": 5,
                "items": {
                    "type": "string",
                    "enum": [
                        "authorization_code",
                        "refresh_token",
                        "client_credentials",
                        "urn:ietf:params:oauth:grant-type:device_code",
                        "urn:ietf:params:oauth:grant-type:token-exchange",
                    ],
                },
            },
            "response_types": {
                "type": "array",
                "maxItems": 1,
                "items": {"type": "string", "enum": ["code"]},
            },
            "token_endpoint_auth_method": {
                "type": "string",
                "enum": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
                "description": "`private_key_jwt` (RFC 7523) needs `jwks` or `jwks_uri`; "
                "such a client has no secret.",
            },
            "scope": {"type": "string", "maxLength": 1000},
            "id_token_signed_response_alg": {"type": "string", "enum": ["RS256", "ES256"]},
            "first_party": {"type": "boolean"},
            "require_pushed_authorization_requests": {
                "type": "boolean",
                "description": "RFC 9126: authorization requests only through /oauth2/par.",
            },
            "dpop_bound_access_tokens": {
                "type": "boolean",
                "description": "RFC 9449: every access token is DPoP-bound; token requests "
                "without a DPoP proof are refused (invalid_dpop_proof).",
            },
            "roles": ROLE_NAMES,
            "resource_grants": RESOURCE_GRANTS,
            "backchannel_logout_uri": {
                "type": ["string", "null"],
                "maxLength": 2000,
                "description": "OIDC Back-Channel Logout: where logout tokens are POSTed "
                "(absolute https URI, no fragment; null removes it).",
            },
            "backchannel_logout_session_required": {
                "type": "boolean",
                "description": "The client needs `sid` in logout tokens (always sent).",
            },
            "jwks": {
                "type": ["object", "null"],
                "description": "The client's public signing keys, a JWK Set (RSA, EC P-256, "
                "Ed25519; no private members), for `private_key_jwt` and signed request "
                "objects. Not with `jwks_uri`.",
            },
            "jwks_uri": {
                "type": ["string", "null"],
                "maxLength": 2000,
                "description": "Where the client publishes its JWK Set (fetched through the "
                "outbound guard, kept 5 minutes). Not with `jwks`.",
            },
        },
        ("client_name",),
    ),
    # --- signing keys
    "SigningKey": {
        "type": "object",
        "properties": {
            "id": ID,
            "alg": {"type": "string"},
            "status": {"type": "string"},
            "created_at": TIME,
        },
        "required": ["id", "alg", "status"],
    },
    # --- sessions and audit
    "Session": resource(
        {
            "user_id": ID,
            "amr": {"type": "array", "items": {"type": "string"}},
            "active_org_id": {"type": ["string", "null"]},
            "ip": {"type": "string"},
            "user_agent": {"type": "string"},
            "auth_time": TIME,
            "last_seen_at": TIME,
            "expires_at": TIME,
        }
    ),
    "AuditEvent": resource(
        {
            "action": {"type": "string"},
            "actor": {
                "type": "object",
                "properties": {"type": {"type": "string"}, "id": {"type": ["string", "null"]}},
            },
            "target": {
                "type": "object",
                "properties": {
                    "type": {"type": ["string", "null"]},
                    "id": {"type": ["string", "null"]},
                },
            },
            "ip": {"type": ["string", "null"]},
            "user_agent": {"type": ["string", "null"]},
            "request_id": {"type": ["string", "null"]},
            "data": {"type": "object"},
        }
    ),
    # --- admin API keys
    "AdminKey": resource(
        {
            "name": {"type": "string"},
            "prefix": {"type": "string"},
            "tenant_id": {"type": ["string", "null"]},
            "scope": {"type": "string", "enum": ["instance", "tenant"]},
            "created_by": {"type": ["string", "null"]},
            "last_used_at": TIME_OR_NULL,
            "revoked_at": TIME_OR_NULL,
        }
    ),
    "AdminKeyCreated": {
        "allOf": [
            {"$ref": "#/components/schemas/AdminKey"},
            {
                "type": "object",
                "properties": {"key": {"type": "string", "description": "Shown only once."}},
                "required": ["key"],
            },
        ]
    },
    "AdminKeyCreate": closed({"name": {"type": "string", "maxLength": 200}}),
}

# Clients are updated with the same fields as on create, none required.
SCHEMAS["ClientUpdate"] = closed(SCHEMAS["ClientCreate"]["properties"])

# --- upstream identity providers (client_secret is write only)
_PROVIDER_FIELDS = {
    "kind": {"type": "string", "enum": ["oidc", "google", "microsoft", "github"]},
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "discovery_url": {
        "type": ["string", "null"],
        "maxLength": 2000,
        "description": "For kind `oidc`: https (http only for localhost in development).",
    },
    "client_id": {"type": "string", "minLength": 1, "maxLength": 500},
    "client_secret": {"type": "string", "minLength": 1, "maxLength": 2000, "writeOnly": True},
    "scopes": {"type": "array", "maxItems": 30, "items": {"type": "string", "maxLength": 200}},
}
SCHEMAS["Provider"] = resource(
    {
        "kind": _PROVIDER_FIELDS["kind"],
        "name": {"type": "string"},
        "discovery_url": {"type": ["string", "null"]},
        "client_id": {"type": "string"},
        "scopes": {"type": "array", "items": {"type": "string"}},
        "redirect_uri": {
            "type": "string",
            "description": "The callback URL to register at the provider.",
        },
    }
)
SCHEMAS["ProviderCreate"] = closed(_PROVIDER_FIELDS, ("kind", "client_id", "client_secret"))
SCHEMAS["ProviderUpdate"] = closed({k: v for k, v in _PROVIDER_FIELDS.items() if k != "kind"})

# --- enterprise SSO of organizations (connections, verified domains, SCIM tokens)
_ROLE_MAPPING = {
    "type": "object",
    "description": 'A group (or attribute value) to org roles: {"engineering": ["admin"]}.',
    "additionalProperties": ROLE_NAMES,
}
_CONNECTION_FIELDS = {
    "kind": {"type": "string", "enum": ["saml", "oidc"]},
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "domains": {
        **DOMAINS,
        "description": "Verified email domains of the organization routed to this connection.",
    },
    "enforced": {
        "type": "boolean",
        "description": "People at these domains must sign in through this connection.",
    },
    "role_mapping": _ROLE_MAPPING,
    "metadata_xml": {"type": "string", "maxLength": 262144, "description": "saml: IdP metadata."},
    "metadata_url": {
        "type": "string",
        "maxLength": 2000,
        "description": "saml: where to fetch the IdP metadata (instead of metadata_xml).",
    },
    "idp_initiated": {
        "type": "boolean",
        "description": "saml: accept unsolicited (IdP-initiated) responses. Off by default.",
    },
    "discovery_url": {"type": "string", "maxLength": 2000, "description": "oidc"},
    "client_id": {"type": "string", "minLength": 1, "maxLength": 500, "description": "oidc"},
    "client_secret": {
        "type": "string",
        "minLength": 1,
        "maxLength": 2000,
        "writeOnly": True,
        "description": "oidc",
    },
    "scopes": {"type": "array", "maxItems": 30, "items": {"type": "string", "maxLength": 200}},
}
SCHEMAS["Connection"] = resource(
    {
        "org_id": ID,
        "kind": _CONNECTION_FIELDS["kind"],
        "name": {"type": "string"},
        "domains": {"type": "array", "items": {"type": "string"}},
        "enforced": {"type": "boolean"},
        "role_mapping": {"type": "object"},
        "metadata_url": {"type": ["string", "null"]},
        "metadata_xml": {"type": ["string", "null"]},
        "idp_initiated": {"type": "boolean"},
        "sp_entity_id": {"type": "string", "description": "saml: our entity ID (metadata URL)."},
        "sp_metadata_url": {"type": "string"},
        "acs_url": {"type": "string", "description": "saml: our ACS (HTTP-POST)."},
        "discovery_url": {"type": ["string", "null"]},
        "client_id": {"type": ["string", "null"]},
        "scopes": {"type": "array", "items": {"type": "string"}},
        "redirect_uri": {"type": "string", "description": "oidc: the callback to register."},
    },
    required=("id", "org_id", "kind", "name", "domains", "enforced", "role_mapping", "created_at"),
)
SCHEMAS["ConnectionCreate"] = closed(_CONNECTION_FIELDS, ("kind", "name"))
SCHEMAS["ConnectionUpdate"] = closed({k: v for k, v in _CONNECTION_FIELDS.items() if k != "kind"})
SCHEMAS["OrgDomain"] = resource(
    {
        "org_id": ID,
        "domain": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "verified"]},
        "verification": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "name": {"type": "string"},
                "value": {"type": "string"},
            },
        },
        "verified_at": TIME_OR_NULL,
        "verified_by": {"type": ["string", "null"], "enum": ["dns", "operator", None]},
    }
)
SCHEMAS["OrgDomainCreate"] = closed(
    {"domain": {"type": "string", "minLength": 1, "maxLength": 253}}, ("domain",)
)
SCHEMAS["OrgDomainVerify"] = closed(
    {
        "operator": {
            "type": "boolean",
            "description": "Mark verified without DNS (instance credentials only).",
        }
    }
)
SCHEMAS["Domain"] = resource(
    {
        "host": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "verified"]},
        "verification": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "name": {"type": "string"},
                "value": {"type": "string"},
            },
        },
        "verified_at": TIME_OR_NULL,
        "verified_by": {"type": ["string", "null"]},
    }
)
SCHEMAS["DomainCreate"] = closed(
    {"host": {"type": "string", "minLength": 1, "maxLength": 253}}, ("host",)
)
SCHEMAS["EmailTemplate"] = {
    "type": "object",
    "properties": {
        "name": {
            "type": "string",
            "enum": ["verify_email", "reset_password", "invitation", "login_code"],
        },
        "locale": {"type": "string"},
        "custom": {"type": "boolean"},
        "subject": {"type": "string"},
        "text": {"type": "string"},
        "html": {"type": "string"},
        "variables": {"type": "array", "items": {"type": "string"}},
        "updated_at": TIME_OR_NULL,
    },
    "required": ["name", "locale", "custom", "subject", "text", "html", "variables"],
}
SCHEMAS["EmailTemplatePut"] = closed(
    {
        "subject": {"type": "string", "minLength": 1, "maxLength": 1000},
        "text": {"type": "string", "minLength": 1, "maxLength": 20000},
        "html": {"type": "string", "maxLength": 100000},
    },
    ("subject", "text"),
)
SCHEMAS["ScimToken"] = resource(
    {"org_id": ID, "name": {"type": "string"}, "last_used_at": TIME_OR_NULL}
)
SCHEMAS["ScimTokenCreated"] = {
    "allOf": [
        {"$ref": "#/components/schemas/ScimToken"},
        {
            "type": "object",
            "properties": {"token": {"type": "string", "description": "Shown only once."}},
            "required": ["token"],
        },
    ]
}
SCHEMAS["ScimTokenCreate"] = closed(
    {"name": {"type": "string", "minLength": 1, "maxLength": 200}}, ("name",)
)
# --- initial access tokens of dynamic client registration (RFC 7591 §3)
SCHEMAS["RegistrationToken"] = resource(
    {
        "name": {"type": "string"},
        "expires_at": TIME_OR_NULL,
        "max_uses": {"type": ["integer", "null"]},
        "uses": {"type": "integer"},
        "last_used_at": TIME_OR_NULL,
        "status": {"type": "string", "enum": ["active", "expired", "used"]},
    }
)
SCHEMAS["RegistrationTokenCreated"] = {
    "allOf": [
        {"$ref": "#/components/schemas/RegistrationToken"},
        {
            "type": "object",
            "properties": {"token": {"type": "string", "description": "Shown only once."}},
            "required": ["token"],
        },
    ]
}
SCHEMAS["RegistrationTokenCreate"] = closed(
    {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "expires_in": {
            "type": ["integer", "null"],
            "minimum": 1,
            "maximum": 365 * 86400,
            "description": "Seconds until it expires (null or absent: never).",
        },
        "max_uses": {
            "type": ["integer", "null"],
            "minimum": 1,
            "maximum": 1_000_000,
            "description": "Registrations it allows (null or absent: unlimited).",
        },
    },
    ("name",),
)
# --- webhooks and events (secrets appear once, in the create and rotate answers)
_WEBHOOK_FIELDS = {
    "url": {"type": "string", "minLength": 1, "maxLength": 2000},
    "events": {
        "type": "array",
        "maxItems": 50,
        "items": {"type": "string", "maxLength": 64},
        "description": "Event types, `*`, or a family such as `user.*`.",
    },
    "description": {"type": "string", "maxLength": 200},
    "enabled": {"type": "boolean"},
}
SCHEMAS["Webhook"] = resource(
    {
        "url": {"type": "string"},
        "events": {"type": "array", "items": {"type": "string"}},
        "description": {"type": "string"},
        "enabled": {"type": "boolean"},
        "disabled_reason": {"type": ["string", "null"]},
        "failing_since": TIME_OR_NULL,
        "secret_overlap_until": TIME_OR_NULL,
        "updated_at": TIME,
        "secret": {
            "type": "string",
            "description": "`whsec_…`, only in the create and rotate answers.",
        },
    },
    ("id", "url", "events", "enabled", "created_at"),
)
SCHEMAS["WebhookCreate"] = closed(_WEBHOOK_FIELDS, ("url",))
SCHEMAS["WebhookUpdate"] = closed(_WEBHOOK_FIELDS)
SCHEMAS["WebhookSecretRotate"] = closed(
    {
        "overlap_seconds": {
            "type": "integer",
            "minimum": 0,
            "maximum": 7 * 24 * 3600,
            "description": "How long the old secret keeps signing too (default 86400).",
        }
    }
)
SCHEMAS["WebhookSecret"] = {
    "type": "object",
    "properties": {"id": ID, "secret": {"type": "string"}, "secret_overlap_until": TIME_OR_NULL},
    "required": ["id", "secret"],
}
SCHEMAS["WebhookDelivery"] = resource(
    {
        "endpoint_id": ID,
        "event_id": ID,
        "event_type": {"type": "string"},
        "status": {"type": "string", "enum": ["pending", "succeeded", "failed"]},
        "attempts": {"type": "integer"},
        "response_status": {"type": ["integer", "null"]},
        "response_body": {"type": ["string", "null"], "description": "First 1 KB."},
        "latency_ms": {"type": ["number", "null"]},
        "error": {"type": ["string", "null"]},
        "last_attempt_at": TIME_OR_NULL,
        "next_attempt_at": TIME_OR_NULL,
    },
    ("id", "endpoint_id", "event_id", "event_type", "status", "attempts", "created_at"),
)
SCHEMAS["LogoutDelivery"] = resource(
    {
        "client_id": ID,
        "session_id": ID,
        "sub": ID,
        "reason": {
            "type": "string",
            "description": "What ended the session: `logout`, `rp_logout`, `revoked`, "
            "`password_changed`, `user_disabled`, `user_deleted`.",
        },
        "status": {"type": "string", "enum": ["pending", "succeeded", "failed"]},
        "attempts": {"type": "integer"},
        "response_status": {"type": ["integer", "null"]},
        "response_body": {"type": ["string", "null"], "description": "First 1 KB."},
        "latency_ms": {"type": ["number", "null"]},
        "error": {"type": ["string", "null"]},
        "history": {
            "type": "array",
            "description": "Every attempt: `at`, `status`, `error`, `jti` of the token sent.",
            "items": {"type": "object"},
        },
        "last_attempt_at": TIME_OR_NULL,
        "next_attempt_at": TIME_OR_NULL,
    },
    ("id", "client_id", "session_id", "sub", "status", "attempts", "created_at"),
)
SCHEMAS["Event"] = {
    "type": "object",
    "properties": {
        "id": ID,
        "type": {"type": "string"},
        "timestamp": TIME,
        "tenant_id": ID,
        "data": {"type": "object", "description": "The resource as this API shows it."},
    },
    "required": ["id", "type", "timestamp", "tenant_id", "data"],
}
SCHEMAS["EventPage"] = {
    "type": "object",
    "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
        "next_cursor": {
            "type": ["string", "null"],
            "description": "Where to resume (also at the end: poll again with it later).",
        },
        "has_more": {"type": "boolean"},
    },
    "required": ["items", "next_cursor", "has_more"],
}
# --- import jobs, exports (issue #22)
SCHEMAS["UserImportFile"] = {
    "type": "array",
    "maxItems": 100_000,
    "description": (
        "Users to create or update (key: `external_id`, else `email`), as a JSON array or "
        "as JSON Lines (`application/x-ndjson`). Each user: `email`, `name`, "
        "`email_verified`, `external_id`, `status`, `metadata`, `password_hash` "
        "(`$argon2id$`, `$2a$`/`$2b$`/`$2y$` bcrypt, Django `pbkdf2_sha256$`), `roles`, "
        "`organizations` [{`org`, `roles`}], `identities` [{`provider`, `subject`}]; "
        "Auth0 export records are mapped. Bad records are reported per line in the job."
    ),
    "items": {},
}
SCHEMAS["ImportJob"] = resource(
    {
        "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
        "filename": {"type": "string"},
        "processed": {"type": "integer", "minimum": 0},
        "created": {"type": "integer", "minimum": 0},
        "updated": {"type": "integer", "minimum": 0},
        "error_count": {"type": "integer", "minimum": 0},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"line": {"type": "integer"}, "error": {"type": "string"}},
                "required": ["line", "error"],
            },
        },
        "failure": {"type": ["string", "null"]},
        "started_at": TIME_OR_NULL,
        "finished_at": TIME_OR_NULL,
    }
)
SCHEMAS["TenantExport"] = {
    "type": "object",
    "description": "The tenant as one document; `users` comes last. See README.",
    "properties": {
        "gatehouse_export": {"type": "integer"},
        "settings": {"type": "object"},
        "roles": {"type": "array"},
        "organizations": {"type": "array"},
        "providers": {"type": "array"},
        "clients": {"type": "array"},
        "users": {"type": "array"},
    },
    "required": ["gatehouse_export", "users"],
}
SCHEMAS["UserData"] = {
    "type": "object",
    "description": "Everything held about one person (GDPR Art. 15 and 20).",
    "properties": {
        "format": {"type": "string"},
        "profile": {"type": "object"},
        "roles": {"type": "array"},
        "organizations": {"type": "array"},
        "linked_identities": {"type": "array"},
        "mfa_factors": {"type": "array"},
        "sessions": {"type": "array"},
        "consents": {"type": "array"},
        "audit_events": {"type": "array"},
    },
    "required": ["format", "profile"],
}
SCHEMAS["Logo"] = {
    "type": "object",
    "properties": {
        "content_type": {"type": "string", "enum": ["image/png", "image/jpeg", "image/svg+xml"]},
        "digest": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "size": {"type": "integer", "minimum": 1},
        "url": {"type": "string", "format": "uri"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
    "required": ["content_type", "digest", "size", "url", "updated_at"],
}
# --- API resources and permissions (issue #17)
_RESOURCE_PERMISSIONS = {
    "type": "array",
    "maxItems": 100,
    "items": {
        "type": "object",
        "properties": {
            "name": {**PERMISSION_NAME, "description": "A scope value, e.g. `read:invoices`."},
            "description": {"type": "string", "maxLength": 300},
        },
        "required": ["name"],
        "additionalProperties": False,
    },
}
_TTL = {
    "type": ["integer", "null"],
    "minimum": 60,
    "maximum": 86400,
    "description": "Lifetime of this resource's access tokens (null: the tenant's setting).",
}
SCHEMAS["Resource"] = resource(
    {
        "identifier": {"type": "string"},
        "name": {"type": "string"},
        "permissions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "description": {"type": "string"}},
                "required": ["name", "description"],
            },
        },
        "access_token_ttl_seconds": {"type": ["integer", "null"]},
    }
)
SCHEMAS["ResourceCreate"] = closed(
    {
        "identifier": RESOURCE_IDENTIFIER,
        "name": NAME,
        "permissions": _RESOURCE_PERMISSIONS,
        "access_token_ttl_seconds": _TTL,
    },
    ("identifier", "name"),
)
SCHEMAS["ResourceUpdate"] = closed(
    {
        "identifier": {
            **RESOURCE_IDENTIFIER,
            "description": "Cannot change; accepted only when it is the current one.",
        },
        "name": NAME,
        "permissions": {
            **_RESOURCE_PERMISSIONS,
            "description": "Replaces the list; a removed permission leaves every role and grant.",
        },
        "access_token_ttl_seconds": _TTL,
    }
)
SCHEMAS["UserPermissions"] = {
    "type": "object",
    "properties": {
        "user_id": ID,
        "org_id": {"type": ["string", "null"]},
        "roles": {"type": "array", "items": {"type": "string"}},
        "permissions": {"type": "array", "items": PERMISSION_REF},
    },
    "required": ["user_id", "org_id", "roles", "permissions"],
}
