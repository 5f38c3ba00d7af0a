"""Home-realm discovery: in a tenant with enterprise connections the login page asks for
the email first, and an address at a verified domain of a connected organization goes to
that organization's identity provider.

Also routed: ``login_hint`` (OIDC Core §3.1.2.1) and ``organization=org_…`` of the
authorization request that sent the browser here (carried in ``next``). A connection
marked ``enforced`` refuses passwords for its addresses.
"""

from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit

from flask import redirect
from flask import url_for

from app.models import Connection
from app.models import Tenant
from app.services import connections as connections_service


def is_identifier_first(tenant: Tenant) -> bool:
    return connections_service.has_connections(tenant)


def start_url(connection: Connection, next_url: str | None) -> str:
    endpoint = "sso.saml_login" if connection.kind == "saml" else "sso.oidc_login"
    return url_for(endpoint, connection_id=connection.id, next=next_url or None)


def go(connection: Connection, next_url: str | None):
    return redirect(start_url(connection, next_url))


def for_email(tenant: Tenant, email: str | None) -> Connection | None:
    return connections_service.for_email(tenant, email or "") if email else None


def for_request(tenant: Tenant, login_hint: str | None, next_url: str | None):
    """The connection an arriving sign-in is for: its ``organization`` (the org's first
    connection), else its ``login_hint`` address; or None."""
    org_id = _organization_in(next_url)
    if org_id:
        connections = connections_service.list_connections_of_org_id(tenant, org_id)
        if connections:
            return connections[0]
    return for_email(tenant, login_hint)


def _organization_in(next_url: str | None) -> str | None:
    if not next_url:
        return None
    parts = urlsplit(next_url)
    if not parts.path.endswith("/oauth2/authorize"):
        return None
    values = parse_qs(parts.query).get("organization") or []
    return values[0] if values and values[0].startswith("org_") else None


def enforced_for(tenant: Tenant, email: str | None) -> Connection | None:
    """The connection that forbids a password for ``email``, or None."""
    connection = for_email(tenant, email)
    return connection if connection is not None and connection.enforced else None
