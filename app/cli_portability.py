"""``gatehouse import SLUG < file`` and ``gatehouse export SLUG > tenant.json``."""

from __future__ import annotations

import sys

import click
import ijson
from flask import current_app
from flask.cli import with_appcontext

from app.extensions import db
from app.jobs import imports as runner
from app.services import tenants as tenants_service
from app.services.errors import NotFound
from app.services.portability import jobs
from app.services.portability import sources
from app.services.portability import tenant_export


def _tenant_for_import(slug: str, path: str):
    """The target tenant; a whole-tenant export may create it (named as in the export)."""
    try:
        return tenants_service.get_tenant(slug)
    except NotFound:
        pass
    with open(path, "rb") as stream:
        if sources.sniff(stream) != "tenant":
            raise click.ClickException(f"no tenant '{slug}' (a user file needs an existing one)")
        try:
            name = next(ijson.items(stream, "tenant.name"), None) or slug
        except ijson.JSONError as exc:
            raise click.ClickException(f"malformed tenant export: {exc}") from exc
    tenant = tenants_service.create_tenant(str(name), slug)
    db.session.commit()
    click.echo(f"created tenant {tenant.slug} ({tenant.id})", err=True)
    return tenant


@click.command("import")
@click.argument("slug")
@click.argument("source", type=click.File("rb"), default="-")
@with_appcontext
def import_command(slug, source):
    """Import users (JSON array or JSON Lines) or a whole-tenant export into SLUG.

    Reads SOURCE or standard input. Per-line errors are reported and do not stop the job;
    importing the same file again changes nothing."""
    path, _size = runner.spool(source, current_app.config["IMPORT_MAX_BYTES"])
    try:
        tenant = _tenant_for_import(slug, path)
    except Exception:
        runner.discard(path)
        raise
    job = jobs.create_job(tenant, getattr(source, "name", "") or "stdin", path)
    db.session.commit()
    job = runner.run(job.id)
    click.echo(
        f"{job.status}: {job.processed} processed, {job.created} created, "
        f"{job.updated} updated, {job.error_count} errors (job {job.id})",
        err=True,
    )
    for error in (job.errors or [])[:50]:
        click.echo(f"  line {error['line']}: {error['error']}", err=True)
    if job.status == "failed":
        sys.exit(1)


@click.command("export")
@click.argument("slug")
@click.option(
    "--with-signing-keys",
    is_flag=True,
    help="Include the private signing keys (in clear PEM: guard the file like the keys).",
)
@with_appcontext
def export_command(slug, with_signing_keys):
    """Write tenant SLUG as one JSON document to standard output."""
    try:
        tenant = tenants_service.get_tenant(slug)
    except NotFound as exc:
        raise click.ClickException(f"no tenant '{slug}'") from exc
    chunks = tenant_export.export_tenant(tenant, with_signing_keys=with_signing_keys)
    db.session.commit()
    for chunk in chunks:
        click.echo(chunk, nl=False)
