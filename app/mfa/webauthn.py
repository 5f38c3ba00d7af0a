"""JSON endpoints of the passkey ceremonies (driven by static/js/passkeys.js).

Each ``.../options`` call keeps its challenge server-side (app/services/flow_states.py,
issue #16; the signed Flask session holds only a handle); the matching ``.../verify``
consumes it atomically, so a challenge answers one ceremony only, on whichever instance,
and expires after :data:`CHALLENGE_TTL`. POSTs carry the CSRF token in the ``X-CSRFToken`` header.
"""

from __future__ import annotations

from flask import jsonify
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _

from app.mfa import bp
from app.mfa import flow
from app.mfa import pending
from app.mfa import throttle
from app.mfa.routes import enrolling_subject
from app.models import User
from app.services import flow_states
from app.services import mfa
from app.services import passkeys
from app.services import recovery_codes
from app.services.errors import ValidationFailed
from app.tenancy import current_tenant
from app.tenancy import scope

CHALLENGE_TTL = 300
KIND = "webauthn"


def _key() -> str:
    return f"mfa_webauthn:{current_tenant.id}"


def _error(message: str, status: int = 400):
    return jsonify(error=message), status


def _keep(purpose: str, challenge: str, user_id: str | None) -> None:
    flow_states.discard(current_tenant, KIND, session.get(_key()))
    data = {"purpose": purpose, "challenge": challenge, "user_id": user_id}
    session[_key()] = flow_states.put(current_tenant, KIND, data, CHALLENGE_TTL)


def _take(purpose: str) -> dict | None:
    kept = flow_states.take(current_tenant, KIND, session.pop(_key(), None))
    if not isinstance(kept, dict) or kept.get("purpose") != purpose:
        return None
    return kept


def _credential() -> dict | None:
    body = request.get_json(silent=True)
    credential = body.get("credential") if isinstance(body, dict) else None
    return credential if isinstance(credential, dict) else None


def _webauthn_allowed() -> bool:
    return "webauthn" in mfa.allowed_factors(current_tenant)


@bp.post("/webauthn/register/options")
def register_options():
    subject = enrolling_subject()
    if subject is None or not _webauthn_allowed():
        return _error(_("Passkeys cannot be registered here."), 403)
    _state, user = subject
    options, challenge = passkeys.registration_options(current_tenant, user)
    _keep("register", challenge, user.id)
    return jsonify(options)


@bp.post("/webauthn/register/verify")
def register_verify():
    subject = enrolling_subject()
    kept = _take("register")
    if subject is None or not _webauthn_allowed():
        return _error(_("Passkeys cannot be registered here."), 403)
    state, user = subject
    credential = _credential()
    if kept is None or kept.get("user_id") != user.id or credential is None:
        return _error(_("The passkey request expired. Try again."))
    body = request.get_json(silent=True) or {}
    name = body.get("name") if isinstance(body.get("name"), str) else ""
    try:
        passkeys.register(current_tenant, user, credential, kept["challenge"], name=name)
    except ValidationFailed as exc:
        return _error(exc.errors.get("credential", exc.message))
    target = flow.complete(state, user, "webauthn") if state else url_for("account.security")
    if recovery_codes.remaining(current_tenant, user) == 0:
        target = url_for("mfa.recovery_codes_page", next=target)
    return jsonify(ok=True, redirect=target)


@bp.post("/webauthn/authenticate/options")
def authenticate_options():
    """A second factor for the pending sign-in, or a passwordless sign-in when enabled."""
    loaded = pending.load(current_tenant)
    if loaded is not None and _webauthn_allowed():
        _state, user = loaded
        options, challenge = passkeys.authentication_options(current_tenant, user)
        _keep("second_factor", challenge, user.id)
        return jsonify(options)
    if loaded is None and mfa.passwordless_enabled(current_tenant):
        options, challenge = passkeys.authentication_options(current_tenant, None)
        _keep("passwordless", challenge, None)
        return jsonify(options)
    return _error(_("Passkey sign-in is not available here."), 403)


@bp.post("/webauthn/authenticate/verify")
@throttle.per_user
@throttle.per_ip
def authenticate_verify():
    credential = _credential()
    loaded = pending.load(current_tenant)
    if loaded is not None:
        return _verify_second_factor(loaded, credential)
    kept = _take("passwordless")
    if kept is None or credential is None or not mfa.passwordless_enabled(current_tenant):
        return _error(_("The passkey request expired. Try again."))
    try:
        factor = passkeys.authenticate(current_tenant, credential, kept["challenge"])
    except ValidationFailed as exc:
        return _error(exc.errors.get("credential", exc.message))
    user = scope(current_tenant).get(User, factor.user_id)
    if user is None or not user.is_active:
        return _error(_("This account cannot sign in."), 403)
    body = request.get_json(silent=True) or {}
    next_url = body.get("next") if isinstance(body.get("next"), str) else None
    return jsonify(ok=True, redirect=flow.sign_in_passwordless(user, next_url))


def _verify_second_factor(loaded, credential):
    state, user = loaded
    kept = _take("second_factor")
    if kept is None or kept.get("user_id") != user.id or credential is None:
        return _error(_("The passkey request expired. Try again."))
    try:
        passkeys.authenticate(current_tenant, credential, kept["challenge"], user=user)
    except ValidationFailed as exc:
        mfa.record_failure(current_tenant, user, "webauthn")
        if mfa.failures_since(current_tenant, user, state.started_at) >= mfa.MAX_FAILURES:
            pending.drop(current_tenant)
            return _error(_("Too many failed attempts. Please sign in again."), 401)
        return _error(exc.errors.get("credential", exc.message))
    return jsonify(ok=True, redirect=flow.complete(state, user, "webauthn"))
