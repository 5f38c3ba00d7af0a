"""Custom domains in the console: register, publish the TXT record, verify, remove."""

from __future__ import annotations

from flask import g
from flask import request

from app.admin.access import console_tenant
from app.admin.common import done
from app.admin.common import errors_of
from app.admin.common import respond
from app.admin.common import tenant_route
from app.services import custom_domains
from app.services.errors import ServiceError
from app.tenancy import tenant_origin


def _page(**extra):
    tenant = console_tenant()
    context = {
        "domains": [custom_domains.domain_to_dict(d) for d in custom_domains.list_domains(tenant)],
        "issuer": tenant_origin(tenant),
        "errors": {},
        "host": "",
    }
    context.update(extra)
    return context


@tenant_route("/domains")
def domains_index():
    return respond("admin/domains.html", **_page())


@tenant_route("/domains", endpoint="domains_add", methods=["POST"])
def domains_add():
    host = request.form.get("host", "")
    try:
        row = custom_domains.add_domain(console_tenant(), host)
    except ServiceError as exc:
        return respond("admin/domains.html", status=422, **_page(errors=errors_of(exc), host=host))
    return done(f"Publish the TXT record for {row.host}, then verify it.", "admin.domains_index")


@tenant_route("/domains/<custom_domain_id>/verify", methods=["POST"])
def domains_verify(custom_domain_id: str):
    tenant = console_tenant()
    row = custom_domains.get_domain(tenant, custom_domain_id)  # another tenant's -> 404
    operator = request.form.get("operator") == "1" and bool(g.get("is_operator"))
    try:
        custom_domains.verify_domain(tenant, row, operator=operator)
    except ServiceError as exc:
        return respond("admin/domains.html", status=422, **_page(errors=errors_of(exc)))
    return done(f"{row.host} is verified.", "admin.domains_index")


@tenant_route("/domains/<custom_domain_id>/delete", methods=["POST"])
def domains_remove(custom_domain_id: str):
    tenant = console_tenant()
    row = custom_domains.get_domain(tenant, custom_domain_id)
    custom_domains.delete_domain(tenant, row)
    return done(f"{row.host} removed.", "admin.domains_index")
