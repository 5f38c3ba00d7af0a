"""``gatehouse domains add|verify|list|remove``: a tenant's custom domains."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.cli import committed
from app.services import custom_domains
from app.services import tenants as tenants_service


@click.group("domains")
def domains_command():
    """Custom domains of a tenant (verified by a DNS TXT record)."""


def _echo(row) -> None:
    data = custom_domains.domain_to_dict(row)
    record = data["verification"]
    click.echo(f"{data['id']}  {data['host']}  {data['status']}")
    if data["status"] == "pending":
        click.echo(f'  publish: {record["name"]} TXT "{record["value"]}"')


@domains_command.command("add")
@click.argument("tenant_ref")
@click.argument("host")
@with_appcontext
def domains_add(tenant_ref, host):
    """Register HOST for the tenant (pending) and print the TXT record to publish."""
    with committed():
        tenant = tenants_service.get_tenant(tenant_ref)
        row = custom_domains.add_domain(tenant, host)
    _echo(row)


@domains_command.command("verify")
@click.argument("tenant_ref")
@click.argument("host")
@click.option("--operator", is_flag=True, help="Mark it verified without looking up DNS.")
@with_appcontext
def domains_verify(tenant_ref, host, operator):
    """Look the TXT record up now; once verified HOST routes and is the issuer."""
    with committed():
        tenant = tenants_service.get_tenant(tenant_ref)
        row = custom_domains.get_domain_by_host(tenant, host)
        custom_domains.verify_domain(tenant, row, operator=operator)
    _echo(row)


@domains_command.command("list")
@click.argument("tenant_ref")
@with_appcontext
def domains_list(tenant_ref):
    """List the tenant's custom domains."""
    tenant = tenants_service.get_tenant(tenant_ref)
    for row in custom_domains.list_domains(tenant):
        _echo(row)


@domains_command.command("remove")
@click.argument("tenant_ref")
@click.argument("host")
@with_appcontext
def domains_remove(tenant_ref, host):
    """Remove HOST (the issuer falls back to the next verified domain or the subdomain)."""
    with committed():
        tenant = tenants_service.get_tenant(tenant_ref)
        custom_domains.delete_domain(tenant, custom_domains.get_domain_by_host(tenant, host))
    click.echo(f"removed {host}")
