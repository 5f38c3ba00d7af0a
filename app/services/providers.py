"""Upstream identity providers of a tenant: generic OpenID Connect (by discovery URL) and
the Google, Microsoft and GitHub presets.

Each tenant brings its own OAuth app at the provider: ``client_id`` and ``client_secret``.
The secret is write only: encrypted at rest (app.security.crypto, it must be sent to the
provider, so it cannot be a digest) and never part of :func:`provider_to_dict`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

from app.extensions import db
from app.models import Tenant
from app.models.provider import LinkedIdentity
from app.models.provider import UpstreamProvider
from app.security import crypto
from app.security import outbound
from app.services import audit
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.tenancy import config_of
from app.tenancy import external_url
from app.tenancy import scope

KINDS = ("oidc", "google", "microsoft", "github")
FIELDS = ("kind", "name", "discovery_url", "client_id", "client_secret", "scopes")

# Presets: where the provider publishes its metadata and what we ask for by default.
PRESET_DISCOVERY = {
    "google": "https://accounts.google.com/.well-known/openid-configuration",
    "microsoft": "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
}
DEFAULT_SCOPES = {
    "oidc": ["openid", "email", "profile"],
    "google": ["openid", "email", "profile"],
    "microsoft": ["openid", "email", "profile"],
    "github": ["read:user", "user:email"],
}
DEFAULT_NAMES = {"google": "Google", "microsoft": "Microsoft", "github": "GitHub"}


def _is_local_host(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def discovery_url_problem(url) -> str | None:
    """Why ``url`` cannot be an OpenID Connect discovery URL, or None when it can.

    https only; plain http is accepted for localhost/127.0.0.1 outside production
    (a provider running on the developer's machine or in a test). The host must resolve
    to public addresses unless ``OUTBOUND_ALLOW_PRIVATE`` (app.security.outbound).
    """
    if not isinstance(url, str) or not url.strip() or len(url) > 2000:
        return "is required for kind oidc (an https URL of at most 2000 characters)"
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "is not a valid URL"
    if not parts.hostname or parts.username or parts.password or parts.fragment:
        return "must be an absolute URL without user information or fragment"
    local_dev = not current_app.config.get("PRODUCTION") and _is_local_host(parts.hostname)
    if parts.scheme != "https" and not (parts.scheme == "http" and local_dev):
        return "must use https (http only for localhost outside production)"
    try:  # the outbound guard: no private addresses unless OUTBOUND_ALLOW_PRIVATE
        outbound.check_url(url.strip(), allow_private=outbound.allow_private())
    except outbound.OutboundError as exc:
        return exc.message
    return None


def _clean_scopes(value, errors: dict) -> list[str]:
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors["scopes"] = "must be a list of scope names"
        return []
    scopes = list(dict.fromkeys(v.strip() for v in value if v.strip()))
    if len(scopes) > 30 or any(len(s) > 200 or not s.isprintable() or " " in s for s in scopes):
        errors["scopes"] = "at most 30 printable scope names without spaces"
    return scopes


def _validate(data: dict, current: dict, *, creating: bool) -> dict:
    """Merge ``data`` over ``current`` and check every rule; raises ValidationFailed."""
    if not isinstance(data, dict):
        raise ValidationFailed({"provider": "must be an object"})
    errors: dict[str, str] = {}
    for field in sorted(set(data) - set(FIELDS)):
        errors[field] = "unknown field"
    if not creating and "kind" in data and data["kind"] != current.get("kind"):
        errors["kind"] = "cannot be changed; create another provider"
    merged = {**current, **{k: v for k, v in data.items() if k in FIELDS}}
    kind = merged.get("kind")
    if kind not in KINDS:
        errors["kind"] = f"must be one of: {', '.join(KINDS)}"
        raise ValidationFailed(errors)
    name = merged.get("name") or DEFAULT_NAMES.get(kind)
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        errors["name"] = "is required (at most 100 characters)"
    else:
        merged["name"] = name.strip()
    if kind == "oidc":
        problem = discovery_url_problem(merged.get("discovery_url"))
        if problem:
            errors["discovery_url"] = problem
        else:
            merged["discovery_url"] = merged["discovery_url"].strip()
    elif data.get("discovery_url"):
        errors["discovery_url"] = f"is fixed for kind {kind}; leave it out"
    else:
        merged["discovery_url"] = PRESET_DISCOVERY.get(kind)
    client_id = merged.get("client_id")
    if not isinstance(client_id, str) or not client_id.strip() or len(client_id) > 500:
        errors["client_id"] = "is required (at most 500 characters)"
    else:
        merged["client_id"] = client_id.strip()
    secret = merged.get("client_secret")
    secret_given = creating or "client_secret" in data
    if secret_given and (not isinstance(secret, str) or not secret or len(secret) > 2000):
        errors["client_secret"] = "is required (at most 2000 characters)"
    scopes = merged.get("scopes")
    merged["scopes"] = _clean_scopes(scopes if scopes else DEFAULT_SCOPES[kind], errors)
    if kind != "github" and "openid" not in merged["scopes"]:
        errors.setdefault("scopes", "must include openid")
    if errors:
        raise ValidationFailed(errors)
    return merged


def create_provider(tenant: Tenant, data: dict) -> UpstreamProvider:
    """Register an upstream provider for ``tenant``; raises ValidationFailed."""
    values = _validate(data, {}, creating=True)
    provider = UpstreamProvider(
        kind=values["kind"],
        name=values["name"],
        discovery_url=values["discovery_url"],
        client_id=values["client_id"],
        client_secret_encrypted=crypto.encrypt(values["client_secret"].encode()),
        scopes=values["scopes"],
    )
    scope(tenant).add(provider)
    db.session.flush()
    audit.record(
        tenant,
        "provider.created",
        target_type="provider",
        target_id=provider.id,
        kind=provider.kind,
    )
    return provider


def update_provider(tenant: Tenant, provider: UpstreamProvider, data: dict) -> UpstreamProvider:
    """Partial update; ``client_secret`` is replaced only when given."""
    current = {
        "kind": provider.kind,
        "name": provider.name,
        "discovery_url": provider.discovery_url if provider.kind == "oidc" else None,
        "client_id": provider.client_id,
        "scopes": list(provider.scopes or []),
    }
    values = _validate(data, current, creating=False)
    provider.name = values["name"]
    provider.discovery_url = values["discovery_url"]
    provider.client_id = values["client_id"]
    provider.scopes = values["scopes"]
    if "client_secret" in data:
        provider.client_secret_encrypted = crypto.encrypt(values["client_secret"].encode())
    db.session.flush()
    audit.record(
        tenant,
        "provider.updated",
        target_type="provider",
        target_id=provider.id,
        fields=sorted(data),
    )
    return provider


def delete_provider(tenant: Tenant, provider: UpstreamProvider) -> None:
    """Delete a provider; identities linked through it go too (ON DELETE CASCADE)."""
    audit.record(tenant, "provider.deleted", target_type="provider", target_id=provider.id)
    for identity in scope(tenant).all(LinkedIdentity, LinkedIdentity.provider_id == provider.id):
        db.session.delete(identity)
    db.session.delete(provider)
    db.session.flush()


def get_provider(tenant: Tenant, provider_id: str) -> UpstreamProvider:
    """The tenant's provider ``provider_id``; raises NotFound (also for other tenants')."""
    provider = scope(tenant).get(UpstreamProvider, provider_id)
    if provider is None:
        raise NotFound("No such identity provider.")
    return provider


def list_providers(tenant: Tenant) -> list[UpstreamProvider]:
    return scope(tenant).all(UpstreamProvider, order_by=UpstreamProvider.id)


@dataclass(frozen=True)
class ProviderButton:
    """What a sign-in page shows of a provider."""

    id: str
    kind: str
    name: str


def sign_in_buttons(tenant) -> tuple[ProviderButton, ...]:
    """The tenant's providers as sign-in buttons: read once per tenant snapshot (a
    provider's change bumps the tenant's configuration version), else read now."""

    def read() -> tuple[ProviderButton, ...]:
        return tuple(ProviderButton(p.id, p.kind, p.name) for p in list_providers(tenant))

    snapshot = config_of(tenant)
    return read() if snapshot is None else snapshot.derived("sign_in_buttons", read)


def client_secret(provider: UpstreamProvider) -> str:
    """The decrypted client secret, for the token request only."""
    if not provider.client_secret_encrypted:
        return ""
    return crypto.decrypt(provider.client_secret_encrypted).decode()


def redirect_uri(tenant: Tenant, provider: UpstreamProvider) -> str:
    """The callback URL to register at the provider (from the tenant's canonical origin)."""
    return external_url(tenant, f"/login/providers/{provider.id}/callback")


def provider_to_dict(provider: UpstreamProvider) -> dict:
    """The API/console view of a provider: never the secret."""
    tenant = db.session.get(Tenant, provider.tenant_id)
    return {
        "id": provider.id,
        "kind": provider.kind,
        "name": provider.name,
        "discovery_url": provider.discovery_url,
        "client_id": provider.client_id,
        "scopes": list(provider.scopes or []),
        "redirect_uri": redirect_uri(tenant, provider),
        "created_at": provider.created_at.isoformat(),
    }
