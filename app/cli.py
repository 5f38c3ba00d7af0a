"""The ``gatehouse`` command (also ``flask --app wsgi ...``)."""

from __future__ import annotations

import secrets
from contextlib import contextmanager

import click
from flask.cli import FlaskGroup
from flask.cli import with_appcontext

from app.extensions import db
from app.services import admin_keys
from app.services import tenants as tenants_service
from app.services import users as users_service
from app.services.clients import ID_TOKEN_ALGS
from app.services.errors import ServiceError


def _create_app():
    from app import create_app

    # The operator's tools act on every tenant: outside a request they bypass PostgreSQL
    # row-level security (app/rls.py), which the log says once per transaction.
    return create_app({"RLS_OPERATOR_TOOL": True})


@contextmanager
def committed():
    """Run a command's service calls as one transaction: commit on success; on a
    ServiceError roll back and exit with the error's message (per field, if any)."""
    try:
        yield
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        details = getattr(exc, "errors", None) or {}
        message = "; ".join(f"{k}: {v}" for k, v in details.items()) or exc.message
        raise click.ClickException(message) from exc


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True)
def main():
    """Gatehouse: a multi-tenant identity provider."""


def init_app(app) -> None:
    """Register the commands on the app, so ``gatehouse`` and ``flask --app wsgi`` agree."""
    from app.cli_domains import domains_command
    from app.cli_portability import export_command
    from app.cli_portability import import_command

    for command in (tenants, admin_key, users, demo, clients, keys, worker, secrets_group):
        app.cli.add_command(command)
    app.cli.add_command(import_command)
    app.cli.add_command(export_command)
    app.cli.add_command(domains_command)


@click.command()
@click.option("--once", is_flag=True, help="Do one pass over the queues and exit.")
@click.option("--idle", default=1.0, show_default=True, help="Seconds to sleep when idle.")
@with_appcontext
def worker(once, idle):
    """Deliver the outbox (webhooks and mail). Run as many as you like on PostgreSQL."""
    import signal
    import threading

    from flask import current_app

    from app import worker as outbox_worker

    if once:
        click.echo(f"handled {outbox_worker.run_once()}")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo("worker running; SIGTERM or Ctrl-C stops it after the current item")
    outbox_worker.run_forever(current_app._get_current_object(), stop, idle=idle)


def _run_with_worker(**options):
    """``flask run``, plus the embedded worker thread in the process that serves."""
    from flask.cli import ScriptInfo
    from flask.cli import run_command
    from flask.helpers import get_debug_flag
    from werkzeug.serving import is_running_from_reloader

    from app import worker as outbox_worker

    ctx = click.get_current_context()
    reload = options.get("reload")
    reload = get_debug_flag() if reload is None else reload
    if not reload or is_running_from_reloader():
        app = ctx.ensure_object(ScriptInfo).load_app()
        if app.config.get("EMBEDDED_WORKER", True):
            outbox_worker.start_thread(app)
    return ctx.invoke(run_command, **options)


def _embedded_run_command() -> click.Command:
    from flask.cli import run_command

    return click.Command(
        "run",
        params=run_command.params,
        callback=_run_with_worker,
        help="Run the development server with an embedded outbox worker "
        "(EMBEDDED_WORKER=false turns it off).",
        short_help="Run the development server (and a worker).",
    )


main.add_command(_embedded_run_command())


@click.group()
def tenants():
    """Create, list, suspend and resume tenants."""


@tenants.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="Display name, e.g. 'Acme Corp'.")
@click.option("--owner-email", help="Invite this address as the tenant's first admin.")
@with_appcontext
def tenants_create(slug, name, owner_email):
    """Create a tenant."""
    from app.services import onboarding

    with committed():
        tenant = tenants_service.create_tenant(name, slug)
        if owner_email:
            onboarding.invite_owner(tenant, owner_email)
    from app.tenancy import issuer_for

    click.echo(f"created {tenant.id} {tenant.slug} issuer={issuer_for(tenant)}")
    if owner_email:
        click.echo(f"invitation sent to {owner_email}")


@tenants.command("list")
@with_appcontext
def tenants_list():
    """List tenants."""
    for tenant in tenants_service.list_tenants(limit=10_000):
        click.echo(f"{tenant.id}  {tenant.slug:<30} {tenant.status:<10} {tenant.name}")


def _set_status(slug: str, status: str):
    with committed():
        tenant = tenants_service.get_tenant(slug)
        tenants_service.set_status(tenant, status)
    click.echo(f"{tenant.slug} is {tenant.status}")


@tenants.command("suspend")
@click.argument("slug")
@with_appcontext
def tenants_suspend(slug):
    """Suspend a tenant: its pages answer 403 and its tokens stop working."""
    _set_status(slug, "suspended")


@tenants.command("resume")
@click.argument("slug")
@with_appcontext
def tenants_resume(slug):
    """Resume a suspended tenant."""
    _set_status(slug, "active")


@click.group("admin-key")
def admin_key():
    """Admin API keys."""


@admin_key.command("create")
@click.option("--tenant", "tenant_ref", help="Limit the key to one tenant (slug or id).")
@click.option("--name", default="", help="A label to tell keys apart.")
@with_appcontext
def admin_key_create(tenant_ref, name):
    """Create an admin API key; the last line printed is the key (shown once)."""
    with committed():
        tenant = tenants_service.get_tenant(tenant_ref) if tenant_ref else None
        key, raw = admin_keys.create_admin_key(tenant, name or "cli", created_by="cli")
    scope = f"tenant {tenant.slug}" if tenant else "the whole instance"
    click.echo(f"admin API key {key.id} for {scope}; it is shown only once:")
    click.echo(raw)


@click.group()
def users():
    """Users of a tenant."""


@users.command("create")
@click.option("--tenant", "tenant_ref", required=True, help="Tenant slug or id.")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--role", "roles", multiple=True, help="Tenant role (repeatable); default member.")
@with_appcontext
def users_create(tenant_ref, email, name, roles):
    """Create a user with a generated password (printed once)."""
    password = secrets.token_urlsafe(15)
    with committed():
        tenant = tenants_service.get_tenant(tenant_ref)
        user = users_service.create_user(
            tenant,
            email,
            name=name,
            password=password,
            roles=list(roles) or ["member"],
            email_verified=True,
        )
    click.echo(f"created {user.id} {user.email} in {tenant.slug}")
    click.echo(f"password: {password}")


@click.command()
@with_appcontext
def demo():
    """Create (or refresh) the demo tenant and print every credential."""
    from app.services import demo as demo_service

    lines = demo_service.seed_demo()
    db.session.commit()
    for line in lines:
        click.echo(line)


@click.group()
def clients():
    """OAuth clients of a tenant."""


@clients.command("create")
@click.option("--tenant", "tenant_ref", required=True, help="Tenant slug or id.")
@click.option("--name", "client_name", required=True, help="Shown on the consent page.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Repeatable.")
@click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True)
@click.option(
    "--grant-type",
    "grant_types",
    multiple=True,
    type=click.Choice(["authorization_code", "refresh_token", "client_credentials"]),
    help="Repeatable; default authorization_code + refresh_token.",
)
@click.option(
    "--auth-method",
    "token_endpoint_auth_method",
    default="client_secret_basic",
    type=click.Choice(["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]),
    help="'none' makes a public client (PKCE required); private_key_jwt needs --jwks-uri.",
)
@click.option("--jwks-uri", default=None, help="Where the client publishes its public keys.")
@click.option("--scope", default="openid profile email offline_access")
@click.option(
    "--id-token-alg",
    "id_token_signed_response_alg",
    default="RS256",
    type=click.Choice(sorted(ID_TOKEN_ALGS)),
)
@click.option("--first-party", is_flag=True, help="Skip the consent page.")
@click.option("--role", "roles", multiple=True, help="Roles in client_credentials tokens.")
@with_appcontext
def clients_create(tenant_ref, **options):
    """Register a client; prints its client_id and, once, its secret."""
    from app.services import clients as clients_service

    data = {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()}
    if not data["grant_types"]:
        data.pop("grant_types")
    with committed():
        tenant = tenants_service.get_tenant(tenant_ref)
        client, secret = clients_service.create_client(tenant, data)
    click.echo(f"client_id: {client.id}")
    if secret:
        click.echo(f"client_secret: {secret}  (shown only once)")


@clients.command("update")
@click.option("--tenant", "tenant_ref", required=True, help="Tenant slug or id.")
@click.argument("client_id")
@click.option("--name", "client_name", default=None)
@click.option(
    "--redirect-uri", "redirect_uris", multiple=True, help="Repeatable; replaces the list."
)
@click.option("--scope", default=None)
@click.option(
    "--id-token-alg",
    "id_token_signed_response_alg",
    default=None,
    type=click.Choice(sorted(ID_TOKEN_ALGS)),
)
@click.option("--first-party/--third-party", "first_party", default=None)
@with_appcontext
def clients_update(tenant_ref, client_id, **options):
    """Change a client's metadata: only the options given (the others keep their value).
    Every instance applies the change within a second (the tenant's config version)."""
    from app.services import clients as clients_service

    data = {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()}
    data = {k: v for k, v in data.items() if v not in (None, [])}
    if not data:
        raise click.UsageError("nothing to change: give at least one option")
    with committed():
        tenant = tenants_service.get_tenant(tenant_ref)
        client = clients_service.get_client(tenant, client_id)
        clients_service.update_client(tenant, client, data)
    click.echo(f"client_id: {client_id} updated ({', '.join(sorted(data))})")


@clients.command("list")
@click.option("--tenant", "tenant_ref", required=True, help="Tenant slug or id.")
@with_appcontext
def clients_list(tenant_ref):
    """List a tenant's clients."""
    from app.services import clients as clients_service

    with committed():
        tenant = tenants_service.get_tenant(tenant_ref)
    for client in clients_service.list_clients(tenant):
        kind = "public" if client.is_public else "confidential"
        click.echo(f"{client.id}  {kind:<12} {client.client_name}")


@click.group()
def keys():
    """Signing keys of a tenant."""


@keys.command("rotate")
@click.argument("tenant_ref")
@with_appcontext
def keys_rotate(tenant_ref):
    """Rotate a tenant's signing keys (the published `next` key starts signing)."""
    from app.services import keys as keys_service

    with committed():
        tenant = tenants_service.get_tenant(tenant_ref)
        keys_service.rotate_keys(tenant)
    for key in keys_service.list_keys(tenant):
        if key.status != "retired":
            until = f" until {key.retire_after:%Y-%m-%d %H:%M} UTC" if key.retire_after else ""
            click.echo(f"{key.id}  {key.alg}  {key.status}{until}")


@keys.command("list")
@click.argument("tenant_ref")
@with_appcontext
def keys_list(tenant_ref):
    """List a tenant's signing keys."""
    from app.services import keys as keys_service

    with committed():
        tenant = tenants_service.get_tenant(tenant_ref)
    for key in keys_service.list_keys(tenant):
        click.echo(f"{key.id}  {key.alg}  {key.status}")


@click.group("secrets")
def secrets_group():
    """The instance secrets (SECRET_KEYS)."""


@secrets_group.command("rotate")
@with_appcontext
def secrets_rotate():
    """Re-encrypt every secret at rest with the first key of SECRET_KEYS."""
    from flask import current_app

    from app.services import secret_rotation

    if not current_app.config.get("SECRET_KEY_FALLBACKS"):
        click.echo("SECRET_KEYS holds one key: nothing to rotate from (set SECRET_KEYS=new,old).")
    with committed():
        counts = secret_rotation.reencrypt_all()
    for table, count in counts.items():
        click.echo(f"{table}: {count} re-encrypted")
    click.echo("Done: the keys after the first can now leave SECRET_KEYS.")
