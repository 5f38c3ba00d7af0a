"""Brute-force throttling of the credential forms with Flask-Limiter.

Two limits on each POST: one per client IP and one per (tenant, email). Limits come
from config (``LOGIN_RATE_LIMIT``, ``LOGIN_ACCOUNT_RATE_LIMIT``, ...) so deployments
and tests can tune them; storage is ``RATELIMIT_STORAGE_URI`` (Redis when REDIS_URL is
set). A breach is audited as ``login.throttled`` and answered 429.
"""

from __future__ import annotations

from functools import wraps

from flask import current_app
from flask import g
from flask import request

from app.extensions import limiter
from app.services import audit

MESSAGE = "Too many attempts. Wait a little and try again."
# The methods these limits count (Flask-Limiter's ``methods``): a GET of the form is free.
LIMITED_METHODS = frozenset({"POST"})


def client_ip() -> str:
    return request.remote_addr or "unknown"


def tenant_and_email() -> str:
    email = (request.form.get("email") or "").strip().lower()[:320]
    tenant = g.get("tenant")
    return f"{tenant.id if tenant else '-'}:{email}"


def _audit_breach(limit) -> None:
    tenant = g.get("tenant")
    if tenant is not None:
        audit.record(
            tenant,
            "login.throttled",
            endpoint=request.endpoint,
            limit=str(limit.limit),
            email=(request.form.get("email") or "")[:320] or None,
        )


def _config_limit(key: str):
    return lambda: current_app.config[key]


def throttled(ip_key: str, account_key: str | None = None):
    """Decorate a view: POSTs limited per client IP and, if given, per (tenant, email).

    Other methods go straight to the view: every limit here is POST-only, so Flask-Limiter
    would only have found that out (per request, ~0.2 ms on GET /login). The view carries
    ``limited_methods`` so that Flask-Limiter's before-request pass is skipped (app/web/
    hooks.py ``no_limit_applies``): on other methods nothing is limited, and on a POST its
    limits, all decorated, are evaluated by the decorators only (``g.throttled_view``)."""

    def decorate(view):
        limited = view
        if account_key:
            limited = limiter.limit(
                _config_limit(account_key),
                key_func=tenant_and_email,
                methods=list(LIMITED_METHODS),
                scope="account",
                on_breach=_audit_breach,
                error_message=MESSAGE,
            )(limited)
        limited = limiter.limit(
            _config_limit(ip_key),
            key_func=client_ip,
            methods=list(LIMITED_METHODS),
            scope="ip",
            on_breach=_audit_breach,
            error_message=MESSAGE,
        )(limited)

        @wraps(view)
        def dispatch(*args, **kwargs):
            if request.method in LIMITED_METHODS:
                g.throttled_view = True  # the limits are evaluated here, in the view
                return limited(*args, **kwargs)
            return view(*args, **kwargs)

        dispatch.limited_methods = LIMITED_METHODS
        return dispatch

    return decorate
