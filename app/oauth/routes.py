"""Routes of the oauth blueprint (DESIGN §3): thin views over Authlib and the services."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from flask import flash
from flask import jsonify
from flask import redirect
from flask import request

from app.extensions import csrf
from app.models import User
from app.oauth import authorize as authorize_flow
from app.oauth import bp
from app.oauth import discovery  # noqa: F401 - registers the /.well-known routes
from app.oauth import logout as logout_flow
from app.oauth.errors import json_error
from app.oauth.server import acquire_userinfo_token
from app.oauth.server import authorization
from app.services import consent as consent_service
from app.services import tokens
from app.tenancy import current_tenant
from app.tenancy import scope
from app.web.session import current_session


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.route("/oauth2/authorize", methods=["GET", "POST"])
@csrf.exempt  # RPs may POST authorization requests; the consent decision checks its token
def authorize():
    return authorize_flow.handle()


@bp.route("/oauth2/token", methods=["POST"])
@csrf.exempt  # clients authenticate themselves (RFC 6749 §2.3)
def token():
    return _no_store(authorization.create_token_response())


@bp.route("/oauth2/introspect", methods=["POST"])
@csrf.exempt
def introspect():
    return _no_store(authorization.create_endpoint_response("introspection"))


@bp.route("/oauth2/revoke", methods=["POST"])
@csrf.exempt
def revoke():
    return _no_store(authorization.create_endpoint_response("revocation"))


@bp.route("/oauth2/userinfo", methods=["GET", "POST"])
@csrf.exempt  # bearer-authenticated
def userinfo():
    """OIDC Core §5.3: claims about the token's user, by the token's scopes."""
    try:
        token_obj = acquire_userinfo_token(request, ["openid"])
    except OAuth2Error as error:
        return json_error(error)
    claims = token_obj.claims
    user = scope(current_tenant).get(User, claims.get("sub"))
    if user is None or not user.is_active:  # e.g. a client_credentials token
        response = jsonify(error="invalid_token", error_description="The token has no user.")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return _no_store(response)
    body = tokens.user_claims(user, claims.get("scope", ""))
    return _no_store(jsonify(body))


@bp.route("/oauth2/logout", methods=["GET", "POST"])
@csrf.exempt  # RP-initiated logout is a GET; the confirmation form checks its token
def logout():
    return logout_flow.handle()


@bp.route("/oauth2/consents/<client_id>/revoke", methods=["POST"])
def revoke_consent(client_id):
    """From /account: forget a consent (CSRF-protected form post)."""
    session = current_session()
    if session is None:
        return redirect(f"{request.script_root}/login")
    user = scope(current_tenant).get(User, session.user_id)
    if consent_service.revoke_consent(current_tenant, user, client_id):
        flash("Access removed.", "success")
    return redirect(f"{request.script_root}/account")
