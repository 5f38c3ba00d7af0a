"""An organization's enterprise SSO in the console: verified email domains (DNS TXT),
SAML and OIDC connections, SCIM tokens (shown once)."""

from __future__ import annotations

from flask import g
from flask import request

from app.admin.access import console_tenant
from app.admin.common import done
from app.admin.common import errors_of
from app.admin.common import form_list
from app.admin.common import respond
from app.admin.common import tenant_route
from app.services import connections as connections_service
from app.services import org_domains
from app.services import orgs as orgs_service
from app.services import roles as roles_service
from app.services import scim_tokens
from app.services.errors import ServiceError
from app.services.errors import ValidationFailed


def _org(org_id: str):
    return orgs_service.get_org(console_tenant(), org_id)  # another tenant's -> 404


def _page(org, **extra):
    tenant = console_tenant()
    context = {
        "org": org,
        "domains": [org_domains.domain_to_dict(d) for d in org_domains.list_domains(tenant, org)],
        "connections": [
            connections_service.connection_to_dict(tenant, c)
            for c in connections_service.list_connections(tenant, org)
        ],
        "tokens": scim_tokens.list_tokens(tenant, org),
        "new_token": None,
        "errors": {},
        "form": {},
        "submitted": {},
        "failed_kind": None,
        "verified_pairs": [(d, d) for d in sorted(org_domains.verified_domains(tenant, org.id))],
        "org_roles": [r.name for r in roles_service.list_roles(tenant, "org")],
        "scim_url": f"{_origin(tenant)}/scim/v2",
    }
    context.update(extra)
    return context


def _origin(tenant) -> str:
    from app.tenancy import tenant_origin

    return tenant_origin(tenant)


@tenant_route("/orgs/<org_id>/sso")
def org_sso(org_id: str):
    return respond("admin/org_sso.html", **_page(_org(org_id)))


def _failed(org, exc: ServiceError, **extra):
    return respond("admin/org_sso.html", status=422, **_page(org, errors=errors_of(exc), **extra))


@tenant_route("/orgs/<org_id>/domains", methods=["POST"])
def org_domains_add(org_id: str):
    org = _org(org_id)
    try:
        row = org_domains.add_domain(console_tenant(), org, request.form.get("domain", ""))
    except ServiceError as exc:
        return _failed(org, exc)
    return done(
        f"Publish the TXT record for {row.domain}, then verify it.", "admin.org_sso", org_id=org.id
    )


@tenant_route("/orgs/<org_id>/domains/<domain_id>/verify", methods=["POST"])
def org_domains_verify(org_id: str, domain_id: str):
    org = _org(org_id)
    operator = request.form.get("operator") == "1" and bool(g.get("is_operator"))
    try:
        row = org_domains.get_domain(console_tenant(), org, domain_id)
        org_domains.verify_domain(console_tenant(), row, operator=operator)
    except ServiceError as exc:
        return _failed(org, exc)
    return done(f"{row.domain} is verified.", "admin.org_sso", org_id=org.id)


@tenant_route("/orgs/<org_id>/domains/<domain_id>/delete", methods=["POST"])
def org_domains_remove(org_id: str, domain_id: str):
    org = _org(org_id)
    row = org_domains.get_domain(console_tenant(), org, domain_id)
    org_domains.delete_domain(console_tenant(), row)
    return done(f"{row.domain} removed.", "admin.org_sso", org_id=org.id)


def _display(values: dict) -> dict:
    """A connection (or a submitted form) as the strings and flags the form shows."""
    mapping = values.get("role_mapping") or {}
    if isinstance(mapping, dict):
        mapping = "\n".join(f"{group} = {', '.join(roles)}" for group, roles in mapping.items())
    scopes = values.get("scopes") or ""
    return {
        "name": values.get("name") or "",
        "metadata_url": values.get("metadata_url") or "",
        "discovery_url": values.get("discovery_url") or "",
        "client_id": values.get("client_id") or "",
        "scopes": scopes if isinstance(scopes, str) else " ".join(scopes),
        "domains": values.get("domains") or [],
        "enforced": values.get("enforced") in (True, "on"),
        "idp_initiated": values.get("idp_initiated") in (True, "on"),
        "role_mapping": mapping,
    }


def _submitted() -> dict:
    values = {k: request.form.get(k) for k in request.form if k != "client_secret"}
    values["domains"] = form_list("domains")
    return _display(values)


def _role_mapping(text: str) -> dict:
    """``group = role role`` per line (commas also separate roles)."""
    mapping: dict[str, list[str]] = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        group, sep, roles = line.partition("=")
        if not sep or not group.strip():
            raise ValidationFailed({"role_mapping": "one 'group = role, role' per line"})
        mapping[group.strip()] = roles.replace(",", " ").split()
    return mapping


def _connection_form(kind: str, *, creating: bool) -> dict:
    """The connection's fields from the console form, for the service."""
    form = {k: (request.form.get(k) or "").strip() for k in request.form if k != "csrf_token"}
    data: dict = {
        "name": form.get("name", ""),
        "domains": form_list("domains"),
        "enforced": request.form.get("enforced") == "on",
        "role_mapping": _role_mapping(request.form.get("role_mapping", "")),
    }
    if creating:
        data["kind"] = kind
    if kind == "saml":
        data["idp_initiated"] = request.form.get("idp_initiated") == "on"
        if form.get("metadata_url"):
            data["metadata_url"] = form["metadata_url"]
        elif form.get("metadata_xml"):
            data["metadata_xml"] = request.form["metadata_xml"]
    else:
        data.update(
            discovery_url=form.get("discovery_url", ""), client_id=form.get("client_id", "")
        )
        data["scopes"] = form.get("scopes", "").split()
        if creating or form.get("client_secret"):
            data["client_secret"] = request.form.get("client_secret", "")
    return data


@tenant_route("/orgs/<org_id>/connections", methods=["POST"])
def org_connections_create(org_id: str):
    org = _org(org_id)
    try:
        data = _connection_form(request.form.get("kind", ""), creating=True)
        connection = connections_service.create_connection(console_tenant(), org, data)
    except ServiceError as exc:
        return _failed(org, exc, submitted=_submitted(), failed_kind=request.form.get("kind"))
    return done(
        f"Connection {connection.name} added. Give its details to the identity provider.",
        "admin.org_connection",
        org_id=org.id,
        connection_id=connection.id,
    )


@tenant_route("/orgs/<org_id>/connections/<connection_id>")
def org_connection(org_id: str, connection_id: str):
    org = _org(org_id)
    connection = connections_service.get_connection(console_tenant(), connection_id, org)
    c = connections_service.connection_to_dict(console_tenant(), connection)
    return respond("admin/connection.html", **_page(org, c=c, form=_display(c)))


@tenant_route(
    "/orgs/<org_id>/connections/<connection_id>", methods=["POST"], endpoint="org_connection_update"
)
def org_connection_update(org_id: str, connection_id: str):
    tenant, org = console_tenant(), _org(org_id)
    connection = connections_service.get_connection(tenant, connection_id, org)
    try:
        data = _connection_form(connection.kind, creating=False)
        connections_service.update_connection(tenant, org, connection, data)
    except ServiceError as exc:
        errors = errors_of(exc)
        connection = connections_service.get_connection(tenant, connection_id, org)
        c = connections_service.connection_to_dict(tenant, connection)
        context = _page(org, c=c, errors=errors, form=_submitted())
        return respond("admin/connection.html", status=422, **context)
    return done(
        "Connection saved.", "admin.org_connection", org_id=org.id, connection_id=connection.id
    )


@tenant_route("/orgs/<org_id>/connections/<connection_id>/delete", methods=["POST"])
def org_connection_delete(org_id: str, connection_id: str):
    tenant, org = console_tenant(), _org(org_id)
    connection = connections_service.get_connection(tenant, connection_id, org)
    connections_service.delete_connection(tenant, connection)
    return done(f"Connection {connection.name} deleted.", "admin.org_sso", org_id=org.id)


@tenant_route("/orgs/<org_id>/scim-tokens", methods=["POST"])
def org_scim_tokens_create(org_id: str):
    org = _org(org_id)
    try:
        _, token = scim_tokens.create_token(console_tenant(), org, request.form.get("name", ""))
    except ServiceError as exc:
        return _failed(org, exc)
    return respond("admin/org_sso.html", **_page(org, new_token=token))


@tenant_route("/orgs/<org_id>/scim-tokens/<token_id>/delete", methods=["POST"])
def org_scim_tokens_revoke(org_id: str, token_id: str):
    org = _org(org_id)
    scim_tokens.revoke_token(console_tenant(), org, token_id)
    return done("SCIM token revoked.", "admin.org_sso", org_id=org.id)
