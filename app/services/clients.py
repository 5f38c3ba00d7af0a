"""OAuth clients of a tenant (RFC 7591 metadata names), their secrets and lookups.

Secrets are 256-bit random tokens, shown once and stored only as SHA-256 digests
(app.security.tokens): never argon2, they are not guessable and are checked per request.

The OAuth endpoints look clients up through :func:`authenticating_client`: an immutable
:class:`~app.tenant_snapshot.ClientConfig` kept on the worker's tenant snapshot, so a
token request reads no client row once warm. Creating, changing, rotating or deleting a
client bumps the tenant's configuration version, and every worker rebuilds its snapshot
(app/tenant_cache.py).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from app.extensions import db
from app.models import Client
from app.models import Tenant
from app.models.base import utcnow
from app.quotas import enforce as quotas
from app.security.tokens import digest
from app.security.tokens import digests_match
from app.security.tokens import new_token
from app.services import audit
from app.services import backchannel_logout
from app.services import permissions
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.services.names import clean_name
from app.tenancy import config_of
from app.tenancy import scope
from app.tenant_snapshot import ClientConfig

DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # RFC 8693
GRANT_TYPES = {
    "authorization_code",
    "refresh_token",
    "client_credentials",
    DEVICE_CODE,
    TOKEN_EXCHANGE,
}
RESPONSE_TYPES = {"code"}
AUTH_METHODS = {"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
# Methods with a client secret (private_key_jwt clients hold keys instead, RFC 7523).
SECRET_METHODS = {"client_secret_basic", "client_secret_post"}
SCOPES = {"openid", "profile", "email", "offline_access"}
# Clients of the system tenant may also hold ``admin``: client_credentials tokens with it
# are instance credentials of the admin REST API (app/api/auth.py). Only a confidential
# client that uses no other grant may: a user signing in through a client must never
# obtain an instance credential (see :func:`may_hold_admin`).
ADMIN_SCOPE = "admin"
SYSTEM_SCOPES = SCOPES | {ADMIN_SCOPE}
ID_TOKEN_ALGS = {"RS256", "ES256"}
DEFAULTS = {
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "token_endpoint_auth_method": "client_secret_basic",
    "scope": "openid profile email",
    "id_token_signed_response_alg": "RS256",
    "first_party": False,
    # RFC 9126 §6: authorization requests only through /oauth2/par.
    "require_pushed_authorization_requests": False,
    # RFC 9449 §5.2: only DPoP-bound access tokens for this client.
    "dpop_bound_access_tokens": False,
    "roles": [],
    "post_logout_redirect_uris": [],
    "redirect_uris": [],
    "backchannel_logout_uri": None,
    "backchannel_logout_session_required": False,
    # RFC 7591 §2: the client's public keys (private_key_jwt, request objects).
    "jwks": None,
    "jwks_uri": None,
}
FIELDS = ("client_name", *DEFAULTS)
# Unknown client ids remembered per snapshot, at most (a guessing client cannot grow it).
MAX_UNKNOWN_REMEMBERED = 256


def is_loopback_host(host: str | None) -> bool:
    """localhost or a loopback IP (RFC 8252 §7.3: native apps on a loopback port)."""
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# RFC 3986 §2: unreserved, reserved and percent-encoded characters only (no spaces,
# quotes, angle brackets, backslashes or controls: they are not part of any URI).
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2}")
_URI_RE = re.compile(f"(?:{_URI_CHARS.pattern})+")


def redirect_uri_problem(uri) -> str | None:
    """Why ``uri`` cannot be registered as a redirect URI, or None when it can: an absolute
    http(s) URI (RFC 3986) without fragment or user information."""
    if not isinstance(uri, str) or not uri or len(uri) > 2000:
        return "must be a URL of at most 2000 characters"
    if not _URI_RE.fullmatch(uri):
        return f"{uri!r} is not a valid URI (spaces, quotes, <, >, \\ and controls are refused)"
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return f"{uri} is not a valid URL"
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        return f"{uri} must be an absolute http(s) URL"
    if parts.fragment or "#" in uri:
        return f"{uri} must not contain a fragment"
    if parts.username or parts.password or "@" in parts.netloc:
        return f"{uri} must not contain user information"
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        return f"{uri} must use https (http only for localhost/loopback)"
    if any(c.isspace() for c in uri):
        return f"{uri} must not contain spaces"
    return None


def _string_list(value, field: str, errors: dict) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors[field] = "must be a list of strings"
        return []
    return list(dict.fromkeys(v.strip() for v in value if v.strip()))


def _validate(data: dict, current: dict, scopes: set[str] = SCOPES) -> dict:
    """Merge ``data`` over ``current`` and check every rule; raises ValidationFailed."""
    if not isinstance(data, dict):
        raise ValidationFailed({"client": "must be an object"})
    errors: dict[str, str] = {}
    unknown = set(data) - set(FIELDS)
    for field in sorted(unknown):
        errors[field] = "unknown field"
    merged = {**current, **{k: v for k, v in data.items() if k in FIELDS}}

    try:  # the shared rule for names people read (NFC, no control/bidi characters)
        merged["client_name"] = clean_name(
            merged.get("client_name"),
            "client_name",
            required=True,
            length_message="is required (at most 200 characters)",
        )
    except ValidationFailed as exc:
        errors.update(exc.errors)
    for field in ("redirect_uris", "post_logout_redirect_uris"):
        uris = _string_list(merged.get(field), field, errors)
        problems = [p for p in map(redirect_uri_problem, uris) if p]
        if problems:
            errors[field] = problems[0]
        merged[field] = uris
    _backchannel_logout(data, current, merged, errors)
    _keys(data, current, merged, errors)
    grants = _string_list(merged.get("grant_types"), "grant_types", errors)
    if not grants or not set(grants) <= GRANT_TYPES:
        errors.setdefault("grant_types", f"must be drawn from: {', '.join(sorted(GRANT_TYPES))}")
    merged["grant_types"] = grants
    responses = _string_list(merged.get("response_types"), "response_types", errors)
    if not set(responses) <= RESPONSE_TYPES:
        errors["response_types"] = "only 'code' is supported"
    merged["response_types"] = responses or ["code"]
    method = merged.get("token_endpoint_auth_method")
    if method not in AUTH_METHODS:
        errors["token_endpoint_auth_method"] = f"must be one of: {', '.join(sorted(AUTH_METHODS))}"
    scope_value = merged.get("scope")
    requested = scope_value.split() if isinstance(scope_value, str) else None
    if requested is None or not set(requested) <= scopes:
        errors["scope"] = f"must be a space-separated list drawn from: {' '.join(sorted(scopes))}"
    else:
        merged["scope"] = " ".join(dict.fromkeys(requested))
    if merged.get("id_token_signed_response_alg") not in ID_TOKEN_ALGS:
        errors["id_token_signed_response_alg"] = "must be RS256 or ES256"
    for flag in (
        "first_party",
        "require_pushed_authorization_requests",
        "dpop_bound_access_tokens",
    ):
        if not isinstance(merged.get(flag), bool):
            errors[flag] = "must be true or false"
    merged["roles"] = _string_list(merged.get("roles"), "roles", errors)

    if "authorization_code" in grants and not merged["redirect_uris"]:
        errors.setdefault("redirect_uris", "at least one is needed for authorization_code")
    if method == "private_key_jwt" and not (merged["jwks"] or merged["jwks_uri"]):
        errors.setdefault("jwks", "private_key_jwt needs the client's jwks or jwks_uri")
    if method == "none" and "client_credentials" in grants:
        errors.setdefault("grant_types", "a public client cannot use client_credentials")
    if method == "none" and TOKEN_EXCHANGE in grants:  # RFC 8693 §2.1: the actor authenticates
        errors.setdefault("grant_types", "a public client cannot use token exchange")
    if ADMIN_SCOPE in (requested or []) and not _may_hold_admin(grants, method):
        errors.setdefault(
            "scope",
            "admin is only for confidential clients whose only grant is client_credentials",
        )
    if errors:
        raise ValidationFailed(errors)
    return merged


def _backchannel_logout(data: dict, current: dict, merged: dict, errors: dict) -> None:
    """OIDC Back-Channel Logout §2.2: an absolute URI without fragment (https; http only
    for loopback hosts, as for redirect URIs), checked against the outbound guard when it
    changes; "" or null removes it."""
    uri = merged.get("backchannel_logout_uri")
    uri = uri.strip() if isinstance(uri, str) else uri
    if uri in (None, ""):
        merged["backchannel_logout_uri"] = None
    elif not isinstance(uri, str):
        errors["backchannel_logout_uri"] = "must be a URL or null"
    else:
        changed = uri != current.get("backchannel_logout_uri")
        problem = backchannel_logout.uri_problem(uri, check_address=changed)
        if problem:
            errors["backchannel_logout_uri"] = problem
        merged["backchannel_logout_uri"] = uri
    if not isinstance(merged.get("backchannel_logout_session_required"), bool):
        errors["backchannel_logout_session_required"] = "must be true or false"


def _keys(data: dict, current: dict, merged: dict, errors: dict) -> None:
    """RFC 7591 §2: ``jwks`` (a JWK Set of public signing keys) or ``jwks_uri`` (checked
    against the outbound guard when it changes), not both; null (or "") removes either."""
    from app.services import client_keys

    jwks, uri = merged.get("jwks"), merged.get("jwks_uri")
    uri = uri.strip() if isinstance(uri, str) else uri
    merged["jwks"] = jwks or None
    merged["jwks_uri"] = uri or None
    if jwks:
        problem = client_keys.jwks_problem(jwks)
        if problem:
            errors["jwks"] = problem
    if uri:
        changed = uri != current.get("jwks_uri")
        problem = client_keys.jwks_uri_problem(uri, check_address=changed)
        if problem:
            errors["jwks_uri"] = problem
    if jwks and uri:
        errors.setdefault("jwks_uri", "register jwks or jwks_uri, not both")


def _may_hold_admin(grant_types, auth_method) -> bool:
    return list(grant_types or []) == ["client_credentials"] and auth_method != "none"


def may_hold_admin(client: Client) -> bool:
    """True when ``client`` may carry the ``admin`` scope (a confidential machine client)."""
    scopes = (client.scope or "").split()
    return ADMIN_SCOPE in scopes and _may_hold_admin(
        client.grant_types, client.token_endpoint_auth_method
    )


def _scopes_for(tenant: Tenant) -> set[str]:
    return SYSTEM_SCOPES if tenant.is_system else SCOPES


def _current(client: Client) -> dict:
    return {field: getattr(client, field) for field in FIELDS}


def _split_grants(data):
    """``resource_grants`` (stored in their own rows) apart from the client's columns."""
    if not isinstance(data, dict) or "resource_grants" not in data:
        return data, None
    rest = {k: v for k, v in data.items() if k != "resource_grants"}
    return rest, data["resource_grants"]


def create_client(tenant: Tenant, data: dict) -> tuple[Client, str | None]:
    """Register a client; returns it and its secret (None for public clients), shown once."""
    data, grants = _split_grants(data)
    values = _validate(data, {"client_name": None, **DEFAULTS}, _scopes_for(tenant))
    quotas.check_capacity(tenant, "max_clients")
    if grants is not None:  # checked before anything is written
        permissions.parse_resource_grants(tenant, grants)
    client = Client(**values)
    secret = None
    if values["token_endpoint_auth_method"] in SECRET_METHODS:
        secret = new_token()
        client.secret_digest = digest(secret)
        client.secret_rotated_at = utcnow()
    scope(tenant).add(client)
    db.session.flush()
    if grants:
        permissions.set_client_grants(tenant, client, grants)
    audit.record(tenant, "client.created", target_type="client", target_id=client.id)
    return client, secret


def update_client(tenant: Tenant, client: Client, data: dict) -> Client:
    """Change a client's metadata (partial update); switching to public drops the secret.
    ``resource_grants``, when given, replaces the client's grants."""
    data, grants = _split_grants(data)
    values = _validate(data, _current(client), _scopes_for(tenant))
    if grants is not None:
        permissions.set_client_grants(tenant, client, grants)
    for field, value in values.items():
        setattr(client, field, value)
    if client.token_endpoint_auth_method not in SECRET_METHODS:
        client.secret_digest = None  # public or key-authenticated: no secret any more
    db.session.flush()
    audit.record(
        tenant, "client.updated", target_type="client", target_id=client.id, fields=sorted(data)
    )
    return client


def rotate_client_secret(tenant: Tenant, client: Client) -> str:
    """A new secret for a confidential client (the old one stops working now)."""
    if client.is_public:
        raise ValidationFailed({"token_endpoint_auth_method": "a public client has no secret"})
    if client.token_endpoint_auth_method not in SECRET_METHODS:
        raise ValidationFailed(
            {"token_endpoint_auth_method": "a private_key_jwt client has keys, not a secret"}
        )
    secret = new_token()
    client.secret_digest = digest(secret)
    client.secret_rotated_at = utcnow()
    db.session.flush()
    audit.record(tenant, "client.secret_rotated", target_type="client", target_id=client.id)
    return secret


def delete_client(tenant: Tenant, client: Client) -> None:
    """Delete a client; its codes, grants and consents go with it (ON DELETE CASCADE)."""
    audit.record(tenant, "client.deleted", target_type="client", target_id=client.id)
    db.session.delete(client)
    db.session.flush()


def get_client(tenant: Tenant, client_id: str) -> Client:
    """The tenant's client ``client_id``; raises NotFound."""
    client = find_client(tenant, client_id)
    if client is None:
        raise NotFound("No such client.")
    return client


def find_client(tenant: Tenant, client_id: str | None) -> Client | None:
    """The tenant's client or None (a client id of another tenant is None here)."""
    if not client_id or not isinstance(client_id, str) or len(client_id) > 40:
        return None
    return scope(tenant).get(Client, client_id)


def authenticating_client(tenant: Tenant, client_id: str | None) -> ClientConfig | None:
    """The tenant's enabled client for the OAuth endpoints (read only, kept on the tenant
    snapshot); None for an unknown or disabled one. Not for editing: use :func:`get_client`."""
    if not client_id or not isinstance(client_id, str) or len(client_id) > 40:
        return None
    snapshot = config_of(tenant)
    if snapshot is None:
        return _read_client(tenant, client_id)
    clients = snapshot.derived("clients", dict)
    unknown = snapshot.derived("unknown_clients", set)
    found = clients.get(client_id)
    if found is not None or client_id in unknown:
        return found
    found = _read_client(tenant, client_id)
    if found is not None:
        clients[client_id] = found
    elif len(unknown) < MAX_UNKNOWN_REMEMBERED:
        unknown.add(client_id)
    return found


def _read_client(tenant: Tenant, client_id: str) -> ClientConfig | None:
    row = scope(tenant).get(Client, client_id)
    if row is None or row.disabled:
        return None
    return ClientConfig.of(row)


def list_clients(tenant: Tenant) -> list[Client]:
    return scope(tenant).all(Client, order_by=Client.id)


def check_client_secret(client: Client, secret: str | None) -> bool:
    """Constant-time check of a presented secret against the stored digest."""
    return bool(secret) and digests_match(secret, client.secret_digest)


def client_to_dict(client: Client, grants: list[dict] | None = None) -> dict:
    """The client's public view (never the secret or its digest); ``grants``: its
    resource grants when the caller read them already (else read here)."""
    if grants is None:
        grants = permissions.client_grants(client.tenant_id, [client.id])[client.id]
    return {
        "id": client.id,
        "client_id": client.id,
        **{field: getattr(client, field) for field in FIELDS},
        "resource_grants": grants,
        "public": client.is_public,
        "disabled": client.disabled,
        "created_at": client.created_at.isoformat() if client.created_at else None,
        "secret_rotated_at": (
            client.secret_rotated_at.isoformat() if client.secret_rotated_at else None
        ),
    }
