"""``/oauth2/register`` (RFC 7591) and ``/oauth2/register/<client_id>`` (RFC 7592): thin
views over app/services/registration.py. JSON in and out, CSRF-exempt (the caller
authenticates with a Bearer token or, in ``open`` mode, not at all), never cached.

No CORS: registration is done by a server, a CLI or an installer, not by a page on
another origin (the token endpoint's CORS list is the origins of public clients that
already exist, which a client not yet registered cannot be among).
"""

from __future__ import annotations

from flask import current_app
from flask import jsonify
from flask import request

from app.auth.throttle import client_ip
from app.extensions import csrf
from app.extensions import db
from app.extensions import limiter
from app.oauth import bp
from app.oauth.protocol import no_store
from app.quotas import QuotaExceeded
from app.services import audit
from app.services import registration
from app.tenancy import current_tenant
from app.tenancy import issuer_for


def _bearer() -> str | None:
    """RFC 6750 §2.1: the token of ``Authorization: Bearer <token>``, or None."""
    scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def _answer(body: dict, status: int = 200):
    response = jsonify(body)
    response.status_code = status
    return no_store(response)


def _error(exc: registration.RegistrationError):
    db.session.rollback()  # an initial token's use is given back with the rest
    response = _answer({"error": exc.error, "error_description": exc.message}, exc.status)
    if exc.status in (401, 403):
        realm = f'Bearer realm="{issuer_for(current_tenant)}"'
        # RFC 6750 §3.1: no credentials at all → a bare challenge, without an error code.
        response.headers["WWW-Authenticate"] = (
            f'{realm}, error="{exc.error}"' if _bearer() else realm
        )
    return response


def _quota(exc: QuotaExceeded):
    """``max_clients`` reached: 429 + Retry-After, audited once per window like every quota."""
    from app.quotas.enforce import record_notice

    db.session.rollback()
    record_notice(exc)
    response = _answer({"error": "quota_exceeded", "error_description": exc.message}, 429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _body():
    if not request.is_json:
        return None
    return request.get_json(silent=True)


def _open_registration_is_off() -> bool:
    return registration.mode_of(current_tenant) != "open"


@bp.route("/oauth2/register", methods=["POST"])
@csrf.exempt
@limiter.limit(
    lambda: current_app.config["REGISTRATION_RATE_LIMIT"],
    key_func=client_ip,
    methods=["POST"],
    scope="registration",
    exempt_when=_open_registration_is_off,
    error_message="Too many registrations from this address. Wait a little and try again.",
)
def register():
    """RFC 7591 §3.1: register a client; 201 with its credentials, shown once."""
    tenant = current_tenant._get_current_object()
    try:
        outcome = registration.register(tenant, _body(), initial_token=_bearer())
    except registration.RegistrationError as exc:
        return _error(exc)
    except QuotaExceeded as exc:
        return _quota(exc)
    return _answer(registration.response_of(issuer_for(tenant), outcome), 201)


@bp.route("/oauth2/register/<client_id>", methods=["GET", "PUT", "DELETE"])
@csrf.exempt
def manage(client_id: str):
    """RFC 7592: read (GET), replace (PUT) or delete (DELETE) the client that the
    registration access token was issued for."""
    tenant = current_tenant._get_current_object()
    try:
        current = registration.authorize(tenant, client_id, _bearer())
        audit.act_as("client", current.client.id)
        if request.method == "DELETE":
            registration.delete(tenant, current)
            return no_store(current_app.response_class(status=204))
        if request.method == "PUT":
            current = registration.update(tenant, current, _body())
    except registration.RegistrationError as exc:
        return _error(exc)
    return _answer(registration.response_of(issuer_for(tenant), current))
