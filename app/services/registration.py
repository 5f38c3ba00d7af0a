"""Dynamic client registration (RFC 7591) and its management protocol (RFC 7592), per
tenant, behind the setting ``dynamic_registration`` (``off``, ``initial_access_token``,
``open``).

Registered clients are third-party (``first_party`` false: the consent page is shown)
and limited to safe defaults: the ``authorization_code`` and ``refresh_token`` grants,
``response_types`` ``code``, ``client_secret_basic``/``client_secret_post``,
``private_key_jwt`` (RFC 7523) or ``none`` (a public client, which must use PKCE S256 like
every public client), https redirect URIs (http on a loopback host only for
``application_type: native``, RFC 8252 §7.3), no roles nor resource grants. ``jwks`` or
``jwks_uri`` (public signing keys only, for ``private_key_jwt`` and signed request
objects), ``backchannel_logout_uri`` and ``backchannel_logout_session_required`` (OIDC
Back-Channel Logout §2.2) and ``dpop_bound_access_tokens`` (RFC 9449 §5.2) are accepted,
checked as an administrator's are. What Gatehouse
cannot honour yet is refused with ``invalid_client_metadata`` rather than silently
dropped (``sector_identifier_uri``, ``request_uris``, encrypted request objects, signed
or encrypted userinfo, front-channel logout);
other metadata it does not understand is ignored (RFC 7591 §2).

The client row is made by :mod:`app.services.clients` (its validation, quota, audit and
``client.created`` event); its registration access token (RFC 7592 §1.1) is kept as a
SHA-256 digest on a :class:`~app.models.ClientRegistration`, with the metadata that has
no column on ``clients``. Updates (PUT) rotate that token: the answer holds the new one
and the old one stops working.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.extensions import db
from app.models import Client
from app.models import ClientRegistration
from app.models import Tenant
from app.models.base import utcnow
from app.security.tokens import digest
from app.security.tokens import new_token
from app.services import audit
from app.services import clients as clients_service
from app.services import registration_tokens
from app.services.errors import ServiceError
from app.services.errors import ValidationFailed
from app.services.settings import get_settings
from app.tenancy import scope

MODES = ("off", "initial_access_token", "open")
TOKEN_PREFIX = "gh_rat_"  # registration access tokens
GRANT_TYPES = ("authorization_code", "refresh_token")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
APPLICATION_TYPES = ("web", "native")
URI_FIELDS = ("logo_uri", "client_uri", "policy_uri", "tos_uri")
TEXT_FIELDS = ("software_id", "software_version")
MAX_CONTACTS = 10
_EMAIL_RE = re.compile(r"[^@\s<>\"',;]{1,64}@[^@\s<>\"',;]{1,253}")
# Metadata a registrant may not set here, and why (invalid_client_metadata).
REFUSED = {
    "sector_identifier_uri": "pairwise subject identifiers are not supported (public only)",
    "request_uris": "request objects are passed by value or pushed (/oauth2/par) only",
    "request_object_encryption_alg": "encrypted request objects are not supported",
    "userinfo_signed_response_alg": "userinfo is answered as plain JSON only",
    "userinfo_encrypted_response_alg": "userinfo is answered as plain JSON only",
    "id_token_encrypted_response_alg": "encrypted ID tokens are not supported",
    "frontchannel_logout_uri": "front-channel logout is not supported",
    "first_party": "first-party clients are registered by an administrator",
    "roles": "roles are given by an administrator",
    "resource_grants": "resource grants are given by an administrator",
}
# RFC 7592 §2.2: a client update must not carry these (the server issues them).
READ_ONLY = (
    "registration_access_token",
    "registration_client_uri",
    "client_secret_expires_at",
    "client_id_issued_at",
)


class RegistrationError(ServiceError):
    """An RFC 7591 §3.2.2 / RFC 6750 §3.1 error: ``error`` code, description, status."""

    title = "Registration refused"

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error = error
        self.status = status


class RegistrationDisabled(RegistrationError):
    """The tenant's ``dynamic_registration`` is ``off``: the endpoint does not exist."""

    def __init__(self):
        super().__init__("invalid_request", "Dynamic client registration is not enabled here.", 404)


def invalid_token(description: str) -> RegistrationError:
    return RegistrationError("invalid_token", description, 401)


def metadata_error(description: str) -> RegistrationError:
    return RegistrationError("invalid_client_metadata", description)


@dataclass
class Registered:
    """The outcome of a registration or an update: what the answer shows."""

    client: Client
    registration: ClientRegistration
    client_secret: str | None = None  # only when issued now
    access_token: str | None = None  # only when issued now


def mode_of(tenant) -> str:
    return get_settings(tenant)["dynamic_registration"]


def is_enabled(settings) -> bool:
    """True when ``settings`` (merged) turn registration on."""
    return settings.get("dynamic_registration", "off") in ("initial_access_token", "open")


# --- the metadata -----------------------------------------------------------------------


def _uri_list(data: dict, field: str, native: bool) -> list[str]:
    value = data.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _field_error(field, "must be a list of strings")
    for uri in value:
        problem = clients_service.redirect_uri_problem(uri)
        if problem is None and urlsplit(uri).scheme == "http" and not native:
            problem = (
                f"{uri} must use https (http on a loopback host needs application_type native)"
            )
        if problem:
            raise _field_error(field, problem)
    return list(dict.fromkeys(value))


def _or_default(data: dict, field: str, default):
    """A field's value; omitted or null takes the default (RFC 7592 §2.2 treats omitted
    fields as null, and null as "the server's default")."""
    value = data.get(field)
    return default if value is None else value


def _field_error(field: str, problem: str) -> RegistrationError:
    code = "invalid_redirect_uri" if field == "redirect_uris" else "invalid_client_metadata"
    return RegistrationError(code, f"{field}: {problem}")


def _extras(data: dict) -> dict:
    """The metadata kept on the registration (no column on ``clients``)."""
    extras: dict = {}
    for field in URI_FIELDS:
        value = data.get(field)
        if value is None:
            continue
        problem = clients_service.redirect_uri_problem(value)  # also: not a string
        if problem is None and urlsplit(value).scheme != "https":
            problem = f"{value} must be an https URL"
        if problem:
            raise metadata_error(f"{field}: {problem}")
        extras[field] = value
    for field in TEXT_FIELDS:
        value = data.get(field)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise metadata_error(f"{field}: must be a string of at most 200 characters")
        extras[field] = value.strip()
    contacts = data.get("contacts")
    if contacts is not None:
        if (
            not isinstance(contacts, list)
            or len(contacts) > MAX_CONTACTS
            or not all(isinstance(c, str) and _EMAIL_RE.fullmatch(c) for c in contacts)
        ):
            raise metadata_error(f"contacts: at most {MAX_CONTACTS} email addresses")
        extras["contacts"] = list(dict.fromkeys(contacts))
    return extras


def clean_metadata(data) -> tuple[dict, dict]:
    """RFC 7591 §2 metadata → (the client's fields for app.services.clients, the extras).

    Raises :class:`RegistrationError` (``invalid_redirect_uri``, ``invalid_client_metadata``,
    ``invalid_software_statement``). Omitted fields take RFC 7591's defaults.
    """
    if not isinstance(data, dict):
        raise metadata_error("The body must be a JSON object of client metadata.")
    if "software_statement" in data:
        raise RegistrationError(
            "invalid_software_statement", "Software statements are not accepted here."
        )
    for field, reason in REFUSED.items():
        if data.get(field) not in (None, [], {}, False):
            raise metadata_error(f"{field}: {reason}")
    if data.get("subject_type") not in (None, "public"):
        raise metadata_error("subject_type: only public subject identifiers are supported")

    application_type = _or_default(data, "application_type", "web")
    if not isinstance(application_type, str) or application_type not in APPLICATION_TYPES:
        raise metadata_error("application_type: must be web or native")
    native = application_type == "native"
    redirect_uris = _uri_list(data, "redirect_uris", native)
    if not redirect_uris:
        raise RegistrationError(
            "invalid_redirect_uri", "redirect_uris: at least one is needed (authorization code)"
        )
    post_logout = _uri_list(data, "post_logout_redirect_uris", native)

    grant_types = _or_default(data, "grant_types", ["authorization_code"])
    if not isinstance(grant_types, list) or not all(isinstance(g, str) for g in grant_types):
        raise metadata_error("grant_types: must be a list of strings")
    refused = [g for g in grant_types if g not in GRANT_TYPES]
    if refused:
        raise metadata_error(
            f"grant_types: {refused[0]} is not available to registered clients "
            f"(only {' and '.join(GRANT_TYPES)})"
        )
    if "authorization_code" not in grant_types:
        raise metadata_error("grant_types: authorization_code is required (response_types code)")
    response_types = _or_default(data, "response_types", ["code"])
    if not isinstance(response_types, list) or any(r != "code" for r in response_types):
        raise metadata_error("response_types: only code is supported")

    method = _or_default(data, "token_endpoint_auth_method", "client_secret_basic")
    if not isinstance(method, str) or method not in AUTH_METHODS:
        raise metadata_error(
            f"token_endpoint_auth_method: must be one of {', '.join(AUTH_METHODS)}"
        )
    alg = _or_default(data, "id_token_signed_response_alg", "RS256")
    if not isinstance(alg, str) or alg not in clients_service.ID_TOKEN_ALGS:
        raise metadata_error("id_token_signed_response_alg: must be RS256 or ES256")

    # A scope outside what the tenant offers is left out (RFC 7591 §2: the server may
    # register less than asked, and says so in its answer).
    scope_value = data.get("scope")
    if scope_value is not None and not isinstance(scope_value, str):
        raise metadata_error("scope: must be a space-separated string")
    wanted = (scope_value or clients_service.DEFAULTS["scope"]).split()
    granted = [s for s in dict.fromkeys(wanted) if s in clients_service.SCOPES]
    scope_value = " ".join(granted) or clients_service.DEFAULTS["scope"]

    name = data.get("client_name")
    if name is None:  # the consent page names the client: its redirect host by default
        name = urlsplit(redirect_uris[0]).hostname or "Registered client"
    values = {
        "client_name": name,
        "redirect_uris": redirect_uris,
        "post_logout_redirect_uris": post_logout,
        "grant_types": list(dict.fromkeys(grant_types)),
        "response_types": ["code"],
        "token_endpoint_auth_method": method,
        "scope": scope_value,
        "id_token_signed_response_alg": alg,
        "backchannel_logout_uri": data.get("backchannel_logout_uri"),
        "backchannel_logout_session_required": data.get(
            "backchannel_logout_session_required", False
        ),
        "jwks": data.get("jwks"),
        "jwks_uri": data.get("jwks_uri"),
        # RFC 9449 §5.2 client metadata (a boolean, checked by the clients service).
        "dpop_bound_access_tokens": data.get("dpop_bound_access_tokens", False),
    }
    _signing_algs(data)
    return values, {"application_type": application_type, **_extras(data)}


def _signing_algs(data: dict) -> None:
    """``token_endpoint_auth_signing_alg`` / ``request_object_signing_alg`` (OIDC Dynamic
    Registration §2): accepted when Gatehouse verifies that algorithm (it accepts every
    algorithm of its allowlist from every client), refused otherwise."""
    from app.services.client_keys import SIGNING_ALGS

    for field in ("token_endpoint_auth_signing_alg", "request_object_signing_alg"):
        value = data.get(field)
        if value is not None and value not in SIGNING_ALGS:
            raise metadata_error(f"{field}: must be one of {', '.join(SIGNING_ALGS)}")


def _client_errors(exc: ValidationFailed) -> RegistrationError:
    """The clients service's field errors as one RFC 7591 error."""
    field, problem = next(iter(exc.errors.items()))
    return _field_error(field, problem)


# --- registration (RFC 7591) ------------------------------------------------------------


def register(tenant: Tenant, data, *, initial_token: str | None = None) -> Registered:
    """Register a client at the tenant's ``/oauth2/register``; raises RegistrationError
    (404 when off, 401 for a missing or unusable initial access token, 400 for metadata)
    and the tenant's ``max_clients`` QuotaExceeded."""
    mode = mode_of(tenant)
    if mode == "off":
        raise RegistrationDisabled()
    token_row = None
    if mode == "initial_access_token":
        if not initial_token:
            raise invalid_token("An initial access token is required to register a client.")
        token_row = registration_tokens.find_usable(tenant, initial_token)
        if token_row is None:
            raise invalid_token("The initial access token is not valid (unknown, expired or used).")
    values, extras = clean_metadata(data)
    if token_row is not None and not registration_tokens.claim_use(tenant, token_row):
        raise invalid_token("The initial access token is not valid (unknown, expired or used).")
    try:
        client, secret = clients_service.create_client(
            tenant, {**values, "first_party": False, "roles": []}
        )
    except ValidationFailed as exc:
        raise _client_errors(exc) from exc
    access_token = TOKEN_PREFIX + new_token()
    registration = scope(tenant).add(
        ClientRegistration(
            client_id=client.id,
            token_digest=digest(access_token),
            client_metadata=extras,
            initial_token_id=token_row.id if token_row else None,
        )
    )
    db.session.flush()
    audit.record(
        tenant,
        "client.registered",
        target_type="client",
        target_id=client.id,
        mode=mode,
        initial_access_token=token_row.id if token_row else None,
    )
    return Registered(client, registration, secret, access_token)


# --- management (RFC 7592) --------------------------------------------------------------


def authorize(tenant: Tenant, client_id: str, access_token: str | None) -> Registered:
    """The registration that ``access_token`` manages, when it is ``client_id``'s.

    401 ``invalid_token`` for a missing or unknown token (another tenant's, an admin-made
    client's, a rotated one); 403 when the token is valid here but for another client,
    whether or not ``client_id`` exists (RFC 7592 §2: nothing about it leaks).
    """
    if mode_of(tenant) == "off":
        raise RegistrationDisabled()
    if not access_token:
        raise invalid_token("A registration access token is required.")
    registration = None
    if access_token.startswith(TOKEN_PREFIX) and len(access_token) <= 200:
        registration = scope(tenant).first(
            ClientRegistration, ClientRegistration.token_digest == digest(access_token)
        )
    if registration is None:
        raise invalid_token("The registration access token is not valid.")
    if registration.client_id != client_id:
        raise RegistrationError(
            "insufficient_scope", "This registration access token is for another client.", 403
        )
    client = scope(tenant).get(Client, registration.client_id)
    if client is None:  # pragma: no cover - the registration goes with its client
        raise invalid_token("The registration access token is not valid.")
    return Registered(client, registration)


def update(tenant: Tenant, current: Registered, data) -> Registered:
    """RFC 7592 §2.2: replace the client's metadata as a whole (omitted = default); a
    public client that becomes confidential gets a secret now; the registration access
    token is rotated (the answer holds the new one)."""
    client, registration = current.client, current.registration
    if not isinstance(data, dict):
        raise metadata_error("The body must be a JSON object of client metadata.")
    if data.get("client_id") != client.id:
        raise metadata_error("client_id: must be present and be this client's identifier")
    sent = [field for field in READ_ONLY if field in data]
    if sent:
        raise metadata_error(f"{sent[0]}: is issued by the server, not sent (RFC 7592 §2.2)")
    if "client_secret" in data and not clients_service.check_client_secret(
        client, data["client_secret"]
    ):
        raise metadata_error("client_secret: does not match (a client cannot choose its secret)")
    metadata = {k: v for k, v in data.items() if k not in ("client_id", "client_secret")}
    values, extras = clean_metadata(metadata)
    try:
        clients_service.update_client(tenant, client, values)
    except ValidationFailed as exc:
        raise _client_errors(exc) from exc
    secret = None
    if client.token_endpoint_auth_method in clients_service.SECRET_METHODS and (
        client.secret_digest is None
    ):  # a client that now authenticates with a secret gets one now
        secret = clients_service.rotate_client_secret(tenant, client)
    access_token = TOKEN_PREFIX + new_token()
    registration.token_digest = digest(access_token)
    registration.token_rotated_at = utcnow()
    registration.client_metadata = extras
    db.session.flush()
    return Registered(client, registration, secret, access_token)


def delete(tenant: Tenant, current: Registered) -> None:
    """RFC 7592 §2.3: the client goes, with its codes, grants, refresh tokens and consents
    (ON DELETE CASCADE) and its registration access token."""
    clients_service.delete_client(tenant, current.client)


def extras_of(tenant, client_id: str) -> dict:
    """The registered extras of a client (logo_uri, policy_uri, ...), {} for others."""
    row = scope(tenant).first(ClientRegistration, ClientRegistration.client_id == client_id)
    return dict(row.client_metadata or {}) if row is not None else {}


def response_of(issuer: str, outcome: Registered) -> dict:
    """RFC 7591 §3.2.1 / RFC 7592 §3: the client information response."""
    client = outcome.client
    body = {
        "client_id": client.id,
        "client_id_issued_at": int(client.created_at.timestamp()),
        "client_name": client.client_name,
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris or []),
        "grant_types": list(client.grant_types),
        "response_types": list(client.response_types or ["code"]),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "scope": client.scope,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "subject_type": "public",
        "dpop_bound_access_tokens": bool(client.dpop_bound_access_tokens),
        **(
            {
                "backchannel_logout_uri": client.backchannel_logout_uri,
                "backchannel_logout_session_required": client.backchannel_logout_session_required,
            }
            if client.backchannel_logout_uri
            else {}
        ),
        **(outcome.registration.client_metadata or {}),
        "registration_client_uri": f"{issuer}/oauth2/register/{client.id}",
    }
    if client.jwks:
        body["jwks"] = client.jwks
    if client.jwks_uri:
        body["jwks_uri"] = client.jwks_uri
    if client.secret_digest:
        body["client_secret_expires_at"] = 0  # secrets do not expire (rotated by an admin)
    if outcome.client_secret:
        body["client_secret"] = outcome.client_secret
    if outcome.access_token:
        body["registration_access_token"] = outcome.access_token
    return body
