"""Views of enterprise SSO. Thin: the rules are in app.services.saml / .sso."""

from __future__ import annotations

from flask import Response
from flask import g
from flask import redirect
from flask import render_template
from flask import request

from app.auth.flow import complete_sign_in
from app.auth.flow import requested_next
from app.extensions import csrf
from app.extensions import db
from app.services import connections as connections_service
from app.services import saml
from app.services import sso
from app.sso import bp
from app.sso import relay
from app.tenancy import current_tenant


def refused(message: str, status: int = 403):
    return render_template("sso/refused.html", message=message), status


def _saml_connection(connection_id: str):
    connection = connections_service.get_connection(current_tenant, connection_id)  # 404
    if connection.kind != "saml":
        raise connections_service.NotFound("No such SAML connection.")
    return connection


@bp.get("/sso/saml/<connection_id>/metadata")
def saml_metadata(connection_id: str):
    connection = _saml_connection(connection_id)
    xml = saml.sp_metadata(current_tenant, connection)
    return Response(xml, mimetype="application/samlmetadata+xml")


@bp.get("/sso/saml/<connection_id>/login")
def saml_login(connection_id: str):
    """SP-initiated sign-in: a signed AuthnRequest, by redirect to the IdP."""
    return start(_saml_connection(connection_id), requested_next())


def start(connection, next_url: str):
    """Send the browser to the connection's IdP (SAML or OIDC)."""
    if connection.kind == "oidc":
        from app.sso.oidc import begin

        return begin(connection, next_url)
    tenant = current_tenant
    request_id = saml.new_request_id()
    state = relay.dump(tenant.id, connection.id, request_id, next_url)
    return redirect(saml.authn_request(tenant, connection, request_id, state), code=302)


@bp.post("/sso/saml/<connection_id>/acs")
@csrf.exempt  # the IdP posts here; the response's signature and InResponseTo protect it
def saml_acs(connection_id: str):
    tenant = current_tenant
    connection = _saml_connection(connection_id)
    pending = relay.load(request.form.get("RelayState"), tenant.id, connection.id)
    outstanding = {pending[0]: pending[1]} if pending and pending[0] else {}
    try:
        assertion = saml.consume(
            tenant, connection, request.form.get("SAMLResponse", ""), outstanding
        )
    except saml.SamlError as exc:
        sso.record_refusal(tenant, connection, exc.reason)
        return refused(exc.message, 400)
    profile = sso.Profile(
        subject=assertion.subject,
        email=assertion.email,
        name=assertion.name,
        groups=assertion.groups,
    )
    return finish(connection, profile, pending[1] if pending else "")


def finish(connection, profile, next_url: str):
    """Provision, start the session (amr ``ext``, idp = the connection), go on."""
    try:
        with db.session.begin_nested():  # a refusal leaves no half-provisioned rows
            user = sso.sign_in_through(current_tenant, connection, profile)
    except sso.Refused as exc:
        sso.record_refusal(current_tenant, connection, **exc.extra)
        return refused(exc.message)
    response = complete_sign_in(user, sso.AMR, next_url)
    g.browser_session.idp = connection.id
    return response
