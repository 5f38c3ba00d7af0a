"""Routes of the oauth blueprint (DESIGN §3): thin views over Authlib and the services."""

from __future__ import annotations

from flask import flash
from flask import redirect
from flask import request
from flask_babel import gettext as _

from app.extensions import csrf
from app.models import User
from app.oauth import authorize as authorize_flow
from app.oauth import bp
from app.oauth import logout as logout_flow
from app.oauth import par as par_endpoint
from app.oauth import protocol
from app.services import consent as consent_service
from app.tenancy import current_tenant
from app.tenancy import scope
from app.web.session import current_session


@bp.route("/oauth2/authorize", methods=["GET", "POST"])
@csrf.exempt  # RPs may POST authorization requests; the consent decision checks its token
def authorize():
    return authorize_flow.handle()


@bp.route("/oauth2/par", methods=["POST"])
@csrf.exempt  # clients authenticate themselves, as at the token endpoint
def par():
    """RFC 9126 pushed authorization requests."""
    return par_endpoint.handle(request._get_current_object())


# The protocol endpoints are normally answered by app/oauth/lean.py before Flask routes
# the request; these views serve what it passes on (e.g. CORS preflights) and url_for.


@bp.route("/oauth2/token", methods=["POST"])
@csrf.exempt  # clients authenticate themselves (RFC 6749 §2.3)
def token():
    return protocol.token(request._get_current_object())


@bp.route("/oauth2/introspect", methods=["POST"])
@csrf.exempt
def introspect():
    return protocol.introspection(request._get_current_object())


@bp.route("/oauth2/revoke", methods=["POST"])
@csrf.exempt
def revoke():
    return protocol.revocation(request._get_current_object())


@bp.route("/oauth2/userinfo", methods=["GET", "POST"])
@csrf.exempt  # bearer-authenticated
def userinfo():
    """OIDC Core §5.3: claims about the token's user, by the token's scopes."""
    return protocol.userinfo(request._get_current_object())


@bp.route("/.well-known/openid-configuration")
def openid_configuration():
    return protocol.discovery(request._get_current_object())


@bp.route("/.well-known/jwks.json")
def jwks():
    return protocol.jwks(request._get_current_object())


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
        flash(_("Access removed."), "success")
    return redirect(f"{request.script_root}/account")
