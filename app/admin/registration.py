"""Client registration (RFC 7591): the tenant's mode, and the initial access tokens its
admins mint for ``/oauth2/register``. A new token is shown once in the response and
never stored (only its digest)."""

from __future__ import annotations

from flask import request

from app.admin.access import console_tenant
from app.admin.access import has_recent_auth
from app.admin.access import recent_auth
from app.admin.common import done
from app.admin.common import errors_of
from app.admin.common import respond
from app.admin.common import tenant_route
from app.services import registration
from app.services import registration_tokens
from app.services.errors import ServiceError

TABLE = "admin/_partials/_registration_tokens.html"
# (seconds, label) for the expiry select; "" = never.
EXPIRIES = [
    ("", "Never"),
    ("3600", "1 hour"),
    ("86400", "1 day"),
    ("604800", "7 days"),
    ("2592000", "30 days"),
]


def _context(**extra) -> dict:
    tenant = console_tenant()
    tokens = registration_tokens.list_tokens(tenant)
    return {
        "tokens": tokens,
        "status_of": registration_tokens.status_of,
        "mode": registration.mode_of(tenant),
        "expiries": EXPIRIES,
        "recent": has_recent_auth(),
        "errors": {},
        **extra,
    }


def _optional_int(name: str):
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        return raw  # the service says what is wrong with it


@tenant_route("/registration")
def registration_tokens_index():
    return respond("admin/registration_tokens.html", TABLE, **_context())


@tenant_route("/registration", methods=["POST"], endpoint="registration_tokens_create")
@recent_auth("admin.registration_tokens_index")
def registration_tokens_create():
    try:
        row, raw = registration_tokens.create_token(
            console_tenant(),
            request.form.get("name", ""),
            expires_in=_optional_int("expires_in"),
            max_uses=_optional_int("max_uses"),
        )
    except ServiceError as exc:
        return respond(
            "admin/registration_tokens.html", TABLE, status=422, **_context(errors=errors_of(exc))
        )
    # Rendered, never redirected: the raw token exists only in this response.
    return respond(
        "admin/registration_tokens.html", TABLE, **_context(new_token=row, raw_token=raw)
    )


@tenant_route("/registration/<registration_token_id>/revoke", methods=["POST"])
@recent_auth("admin.registration_tokens_index")
def registration_tokens_revoke(registration_token_id: str):
    row = registration_tokens.revoke_token(console_tenant(), registration_token_id)  # or 404
    return done(
        f"Initial access token {row.name} revoked.",
        "admin.registration_tokens_index",
        partial=TABLE,
        context=_context(),
    )
