"""A tenant's auth configuration (DESIGN §3 "settings"), with defaults and validation.

Stored as JSON on the tenant; read through :func:`get_settings`, which fills defaults
so that adding a setting never needs a data migration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm.attributes import flag_modified

from app.models import Tenant
from app.services import custom_claims
from app.services.errors import ValidationFailed
from app.tenancy import config_of

DEFAULTS: dict[str, Any] = {
    "signup_mode": "open",
    "allowed_email_domains": [],
    "password_min_length": 12,
    "lockout_threshold": 10,
    "lockout_minutes": 15,
    "mfa_policy": "optional",
    "mfa_factors": ["totp", "webauthn"],
    "passwordless_passkeys": False,
    # Every method a tenant had before login_methods was enforced (#20): passkeys still
    # need passwordless_passkeys, upstream buttons need providers.
    "login_methods": ["passkey", "password", "upstream"],  # sorted, as stored
    "default_locale": "en",
    "locales": ["en", "es", "fr", "de", "pt-BR"],
    # Mail: the sender's display name (empty: the tenant's display name) and Reply-To.
    "mail_sender_name": "",
    "mail_reply_to": "",
    "session_idle_minutes": 60 * 24,
    "session_max_hours": 24 * 14,
    "access_token_ttl_seconds": 600,
    "id_token_ttl_seconds": 3600,
    "refresh_token_ttl_days": 30,
    "refresh_token_idle_days": 14,
    "require_email_verification": False,
    # PKCE for confidential clients too (OAuth 2.1, RFC 9700 §2.1.1). The default here is
    # what a tenant created before the setting existed reads (off: its clients keep
    # working); new tenants store it on (NEW_TENANT_SETTINGS).
    "require_pkce_for_confidential_clients": False,
    # RFC 9126 §5: every client of the tenant must push its authorization requests
    # (/oauth2/par); a client can also be required alone (its own flag).
    "require_pushed_authorization_requests": False,
    # RFC 9449 §8: DPoP proofs must carry a server nonce (``DPoP-Nonce``) at the token and
    # userinfo endpoints, so a proof cannot be made ahead of time and kept (on, as Okta
    # does; the first request of a client is answered ``use_dpop_nonce`` with the nonce).
    "dpop_nonce_required": True,
    "branding": {"display_name": "", "logo_url": "", "primary_color": "#4f46e5"},
    # Claim name → key of the user's metadata, added to ID and access tokens
    # (app/services/custom_claims.py: namespaced or collision-free names only).
    "custom_claims": {},
    # RFC 7591/7592 at /oauth2/register (app/services/registration.py): ``off``, allowed
    # with an initial access token minted by an admin, or ``open`` to anyone.
    "dynamic_registration": "off",
}

# Written into every new tenant's settings: the defaults a new tenant starts with where
# they differ from what an older tenant without the key reads.
NEW_TENANT_SETTINGS: dict[str, Any] = {"require_pkce_for_confidential_clients": True}

_ENUMS = {
    "signup_mode": {"open", "invite_only", "closed"},
    "mfa_policy": {"off", "optional", "required", "required_for_admins"},
    "dynamic_registration": {"off", "initial_access_token", "open"},
}
_RANGES = {
    "password_min_length": (8, 128),
    "lockout_threshold": (3, 100),
    "lockout_minutes": (1, 24 * 60),
    "session_idle_minutes": (5, 60 * 24 * 30),
    "session_max_hours": (1, 24 * 90),
    "access_token_ttl_seconds": (60, 86400),
    "id_token_ttl_seconds": (60, 86400),
    "refresh_token_ttl_days": (1, 365),
    "refresh_token_idle_days": (1, 365),
}
# \Z, not $: "$" also matches before a trailing newline ("#ffffff\n" would pass).
_DOMAIN_RE = re.compile(r"(?=.{1,253}\Z)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}")
_LOGO_URL_RE = re.compile(r"https://[^\s\"'<>\\]{1,1990}")
_FACTORS = {"totp", "webauthn"}
_LOGIN_METHODS = {"password", "passkey", "upstream", "email_code", "magic_link"}
LOCALES = ("en", "es", "fr", "de", "pt-BR")
_EMAIL_RE = re.compile(r"[^@\s<>\"',;]{1,64}@[a-z0-9.-]{1,253}\.[a-z]{2,63}", re.IGNORECASE)


def merge_settings(stored: dict | None) -> dict[str, Any]:
    """Stored settings over the defaults (a fresh dict; lists and dicts copied)."""
    merged = {key: _copy(value) for key, value in DEFAULTS.items()}
    for key, value in (stored or {}).items():
        if key == "branding" and isinstance(value, dict):
            merged["branding"].update(value)
        elif key in DEFAULTS:
            merged[key] = _copy(value)
    return merged


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list | tuple):
        return list(value)
    return value


def get_settings(tenant: Tenant) -> dict[str, Any]:
    """The tenant's settings with every default filled in.

    For a tenant snapshot (the request's, app/tenant_snapshot.py) these were merged once
    when it was built, and are read only. For a row they are merged now (a copy: change
    them through :func:`update_settings`).
    """
    merged = getattr(tenant, "merged_settings", None)
    if merged is not None:
        return merged
    return merge_settings(tenant.settings)


def read_settings(tenant: Tenant) -> Mapping[str, Any]:
    """:func:`get_settings` for a caller that only reads them (read only, never change
    the answer): for the request's tenant, the snapshot's settings (merged once per
    configuration version) while the row still says what the snapshot says, instead of
    merging the row's again on every call; else :func:`get_settings`."""
    snapshot = config_of(tenant)
    if snapshot is not None and (
        snapshot is tenant or tenant.settings == snapshot.columns["settings"]
    ):
        return snapshot.merged_settings
    return get_settings(tenant)


def _validate(key: str, value: Any, errors: dict[str, str]) -> Any:
    if key in _ENUMS:
        if value not in _ENUMS[key]:
            errors[key] = f"must be one of: {', '.join(sorted(_ENUMS[key]))}"
        return value
    if key in _RANGES:
        low, high = _RANGES[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[key] = f"must be a whole number from {low} to {high}"
        return value
    if key == "allowed_email_domains":
        if not isinstance(value, list) or not all(isinstance(d, str) for d in value):
            errors[key] = "must be a list of domain names"
            return value
        cleaned = sorted({d.strip().lower().lstrip("@") for d in value if d.strip()})
        bad = [d for d in cleaned if not _DOMAIN_RE.fullmatch(d)]
        if bad:
            errors[key] = f"not a domain name: {', '.join(bad)}"
        return cleaned
    if key in {"mfa_factors", "login_methods"}:
        allowed = _FACTORS if key == "mfa_factors" else _LOGIN_METHODS
        if not isinstance(value, list) or not set(value) <= allowed:
            errors[key] = f"must be a list drawn from: {', '.join(sorted(allowed))}"
        elif key == "login_methods" and not value:
            errors[key] = "at least one login method is needed"
        return sorted(set(value)) if isinstance(value, list) else value
    if key in {
        "passwordless_passkeys",
        "require_email_verification",
        "require_pkce_for_confidential_clients",
        "require_pushed_authorization_requests",
        "dpop_nonce_required",
    }:
        if not isinstance(value, bool):
            errors[key] = "must be true or false"
        return value
    if key == "branding":
        return _validate_branding(value, errors)
    if key == "custom_claims":
        cleaned, problem = custom_claims.validate_mapping(value)
        if problem:
            errors[key] = problem
        return cleaned
    if key == "default_locale":
        if value not in LOCALES:
            errors[key] = f"must be one of: {', '.join(LOCALES)}"
        return value
    if key == "locales":
        if not isinstance(value, list) or not value or not set(value) <= set(LOCALES):
            errors[key] = f"must be a non-empty list drawn from: {', '.join(LOCALES)}"
            return value
        return [code for code in LOCALES if code in value]
    if key == "mail_sender_name":
        if not isinstance(value, str) or len(value) > 100 or any(c in value for c in '\r\n<>"@'):
            errors[key] = "at most 100 characters, without line breaks, quotes, < > or @"
        return value.strip() if isinstance(value, str) else value
    if key == "mail_reply_to":
        if not isinstance(value, str) or (value and not _EMAIL_RE.fullmatch(value.strip())):
            errors[key] = "must be an email address (or empty)"
        return value.strip() if isinstance(value, str) else value
    errors[key] = "unknown setting"
    return value


def _validate_branding(value: Any, errors: dict[str, str]) -> dict:
    if not isinstance(value, dict):
        errors["branding"] = "must be an object"
        return {}
    out = {}
    for field, item in value.items():
        name = f"branding.{field}"
        if field not in DEFAULTS["branding"]:
            errors[name] = "unknown branding field"
        elif not isinstance(item, str):
            errors[name] = "must be a string"
        elif field == "display_name" and len(item) > 100:
            errors[name] = "at most 100 characters"
        elif field == "logo_url" and item and not _LOGO_URL_RE.fullmatch(item):
            errors[name] = "must be an https:// URL"
        elif field == "primary_color" and not _COLOR_RE.fullmatch(item):
            errors[name] = "must be a colour like #4f46e5"
        else:
            out[field] = item
    return out


def validate_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Check a partial update; raises :class:`ValidationFailed` with per-field errors."""
    if not isinstance(changes, dict):
        raise ValidationFailed({"settings": "must be an object"})
    errors: dict[str, str] = {}
    cleaned = {key: _validate(key, value, errors) for key, value in changes.items()}
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def update_settings(tenant: Tenant, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply a validated partial update and return the full settings."""
    cleaned = validate_changes(changes)
    stored = dict(tenant.settings or {})
    for key, value in cleaned.items():
        if key == "branding":
            stored["branding"] = {**stored.get("branding", {}), **value}
        else:
            stored[key] = value
    merged = {**get_settings(tenant), **stored}
    if merged["default_locale"] not in merged["locales"]:
        raise ValidationFailed({"default_locale": "must be one of the tenant's locales"})
    if merged["session_idle_minutes"] > merged["session_max_hours"] * 60:
        raise ValidationFailed({"session_idle_minutes": "longer than the session's maximum"})
    tenant.settings = stored
    flag_modified(tenant, "settings")
    return get_settings(tenant)


def display_name(tenant: Tenant) -> str:
    return get_settings(tenant)["branding"]["display_name"] or tenant.name


def email_domain_allowed(tenant: Tenant, email: str) -> bool:
    """The allowed-domains policy: an empty list allows every domain."""
    domains = get_settings(tenant)["allowed_email_domains"]
    return not domains or email.rsplit("@", 1)[-1].lower() in domains
