"""Brute force on user codes: every request that looks a code up (one carrying
``user_code`` from a signed-in browser) counts, per client IP and per tenant, with the
app's Flask-Limiter (``DEVICE_CODE_RATE_LIMIT``, ``DEVICE_CODE_TENANT_RATE_LIMIT``)."""

from __future__ import annotations

from flask import current_app
from flask import g
from flask import request
from flask_babel import lazy_gettext as _l

from app.auth.throttle import client_ip
from app.extensions import limiter
from app.services import audit
from app.web.session import current_session

MESSAGE = _l("Too many codes entered. Wait a little and try again.")


def _tenant_key() -> str:
    tenant = g.get("tenant")
    return tenant.id if tenant is not None else "-"


def _no_lookup() -> bool:
    """Nothing to count: no code given, or nobody signed in (no code is looked up then)."""
    return not request.values.get("user_code") or current_session() is None


def _audit_breach(limit) -> None:
    tenant = g.get("tenant")
    if tenant is not None:
        audit.record(tenant, "device.throttled", limit=str(limit.limit))


def throttled(view):
    """Decorate the /device view with the per-IP and per-tenant limits."""
    for key, key_func, name in (
        ("DEVICE_CODE_TENANT_RATE_LIMIT", _tenant_key, "device-tenant"),
        ("DEVICE_CODE_RATE_LIMIT", client_ip, "device-ip"),
    ):
        view = limiter.limit(
            lambda key=key: current_app.config[key],
            key_func=key_func,
            scope=name,
            exempt_when=_no_lookup,
            on_breach=_audit_breach,
            error_message=MESSAGE,
        )(view)
    return view
