"""An organization's OIDC connection: the upstream-provider client (discovery, state,
nonce, PKCE, ID token validation) bound to one organization, with the callback at
/sso/oidc/<id>/callback."""

from __future__ import annotations

from flask import request

from app.services import connections as connections_service
from app.services import sso
from app.sso import bp
from app.tenancy import current_tenant
from app.upstream import client
from app.upstream import pending


class _AsProvider:
    """The connection seen through the upstream client's eyes (same field names)."""

    def __init__(self, connection):
        self.id = connection.id
        self.kind = "oidc"
        self.name = connection.name
        self.discovery_url = connection.discovery_url
        self.client_id = connection.client_id
        self.client_secret_encrypted = connection.client_secret_encrypted
        self.scopes = list(connection.scopes or [])


def begin(connection, next_url: str):
    from app.sso.routes import refused
    from app.upstream.routes import begin as begin_upstream

    def refuse(exc):
        sso.record_refusal(current_tenant, connection, exc.reason)
        return refused(exc.message, 502)

    return begin_upstream(
        _AsProvider(connection),
        mode="signin",
        next_url=next_url,
        redirect_uri=connections_service.redirect_uri(current_tenant, connection),
        refuse=refuse,
    )


@bp.get("/sso/oidc/<connection_id>/login")
def oidc_login(connection_id: str):
    from app.auth.flow import requested_next

    connection = _oidc_connection(connection_id)
    return begin(connection, requested_next())


def _oidc_connection(connection_id: str):
    connection = connections_service.get_connection(current_tenant, connection_id)
    if connection.kind != "oidc":
        raise connections_service.NotFound("No such OIDC connection.")
    return connection


@bp.get("/sso/oidc/<connection_id>/callback")
def oidc_callback(connection_id: str):
    from app.sso.routes import finish
    from app.sso.routes import refused

    tenant = current_tenant
    connection = _oidc_connection(connection_id)
    provider = _AsProvider(connection)
    flow = pending.take_flow(tenant, provider, request.args.get("state"))
    if flow is None:
        sso.record_refusal(tenant, connection, "state_mismatch")
        return refused("This sign-in was not started here or has expired. Please try again.", 400)
    if request.args.get("error") or not request.args.get("code"):
        sso.record_refusal(tenant, connection, "provider_error")
        return refused(f"{connection.name} did not sign you in.", 400)
    try:
        profile = client.fetch_profile(
            provider,
            connections_service.redirect_uri(tenant, connection),
            code=request.args["code"],
            nonce=flow["nonce"],
            verifier=flow["verifier"],
        )
    except client.UpstreamError as exc:
        sso.record_refusal(tenant, connection, exc.reason)
        return refused(exc.message, 400)
    return finish(
        connection,
        sso.Profile(subject=profile.subject, email=profile.email, name=profile.name),
        flow["next"] or "",
    )
