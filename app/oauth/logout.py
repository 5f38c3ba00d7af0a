"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at /oauth2/logout.

* ``id_token_hint`` must be an ID token of THIS tenant (signature, issuer, tenant_id);
* ``post_logout_redirect_uri`` must be registered by the client (named by the hint's
  ``aud`` or by ``client_id``), matched exactly; ``state`` is passed back;
* with a hint naming the signed-in user, the session ends at once (and the grants that
  hang off it are revoked); without one, the user confirms with a CSRF-protected form,
  so that a third-party page cannot sign people out;
* every client with a grant in the ended session that registered a
  ``backchannel_logout_uri`` is then sent a Logout Token by the worker (OIDC Back-Channel
  Logout 1.0, app/services/backchannel_logout.py), the initiating client included.
"""

from __future__ import annotations

from authlib.common.urls import add_params_to_uri
from flask import redirect
from flask import render_template
from flask import request
from flask_wtf.csrf import ValidationError
from flask_wtf.csrf import validate_csrf

from app.oauth.errors import error_page
from app.services import clients as clients_service
from app.services import grants as grants_service
from app.services import tokens
from app.tenancy import current_tenant
from app.web.session import current_session
from app.web.session import sign_out


def handle():
    tenant = current_tenant._get_current_object()
    values = request.values
    hint_claims = None
    if values.get("id_token_hint"):
        try:
            hint_claims = tokens.verify_id_token_hint(tenant, values["id_token_hint"])
        except tokens.InvalidToken:
            return error_page("The id_token_hint was not issued here.", title="Cannot sign out")
    client_id = values.get("client_id")
    if hint_claims is not None:
        audience = hint_claims.get("aud")
        audience = audience[0] if isinstance(audience, list) and audience else audience
        if client_id and client_id != audience:
            return error_page(
                "client_id does not match the id_token_hint.", title="Cannot sign out"
            )
        client_id = audience
    target = values.get("post_logout_redirect_uri")
    if target:
        client = clients_service.find_client(tenant, client_id)
        if client is None or target not in (client.post_logout_redirect_uris or []):
            return error_page(
                "This post_logout_redirect_uri is not registered for the client.",
                title="Cannot sign out",
            )
        if values.get("state"):
            target = add_params_to_uri(target, [("state", values["state"])])

    session = current_session()
    confirmed = hint_claims is not None and session is not None
    confirmed = confirmed and hint_claims.get("sub") == session.user_id
    if session is not None and not confirmed:
        if request.method != "POST" or "confirm" not in request.form:
            fields = {k: v for k, v in values.items() if k not in {"csrf_token", "confirm"}}
            return render_template("oauth/logout.html", fields=fields)
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            return error_page("The form expired. Try again.", title="Cannot sign out")
    if session is not None:
        grants_service.revoke_session_grants(tenant, session.id, reason="logout")
        sign_out(reason="rp_logout")  # queues the back-channel logout tokens (never waits)
    if target:
        return redirect(target, code=302)
    return render_template("oauth/logged_out.html")
