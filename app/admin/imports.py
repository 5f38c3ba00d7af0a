"""Console: import users from a file (progress polled with HTMX, error report as CSV),
download the tenant export, download one user's data."""

from __future__ import annotations

import csv
import io
import json

from flask import Response
from flask import abort
from flask import redirect
from flask import request
from flask import stream_with_context
from flask import url_for

from app.admin.access import console_tenant
from app.admin.common import respond
from app.admin.common import tenant_route
from app.extensions import db
from app.jobs import imports as runner
from app.services import users as users_service
from app.services.portability import account_data
from app.services.portability import jobs
from app.services.portability import tenant_export

JOB = "admin/_partials/_import_job.html"


@tenant_route("/users/import")
def imports_index():
    tenant = console_tenant()
    return respond("admin/imports.html", recent=jobs.list_jobs(tenant), error=None)


@tenant_route("/users/import", methods=["POST"], endpoint="imports_create")
def imports_create():
    tenant = console_tenant()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return respond(
            "admin/imports.html",
            status=422,
            recent=jobs.list_jobs(tenant),
            error="Choose a JSON or JSON Lines file.",
        )
    try:
        job = runner.start(tenant, upload.stream, upload.filename)
    except ValueError as exc:
        return respond(
            "admin/imports.html", status=413, recent=jobs.list_jobs(tenant), error=str(exc)
        )
    return redirect(url_for("admin.imports_show", job_id=job.id))


@tenant_route("/users/import/<job_id>")
def imports_show(job_id: str):
    tenant = console_tenant()
    job = jobs.get_job(tenant, job_id)
    return respond("admin/import_job.html", JOB, job=job, finished=jobs.is_finished(job))


@tenant_route("/users/import/<job_id>/errors.csv")
def imports_errors(job_id: str):
    tenant = console_tenant()
    job = jobs.get_job(tenant, job_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "error"])
    for error in job.errors or []:
        writer.writerow([error["line"], error["error"]])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{job.id}-errors.csv"'
    return response


@tenant_route("/export")
def tenant_export_download():
    tenant = console_tenant()
    chunks = tenant_export.export_tenant(tenant)
    db.session.commit()  # the audit event, before the body streams
    response = Response(stream_with_context(chunks), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{tenant.slug}.json"'
    return response


@tenant_route("/users/<user_id>/export")
def users_export(user_id: str):
    tenant = console_tenant()
    user = users_service.get_user(tenant, user_id)
    data = account_data.user_data(tenant, user, audited=True)
    response = Response(json.dumps(data, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{user.id}.json"'
    return response


@tenant_route("/users/<user_id>/metadata", methods=["POST"])
def users_metadata(user_id: str):
    """Replace the user's metadata with the JSON object typed in the profile card."""
    tenant = console_tenant()
    user = users_service.get_user(tenant, user_id)
    raw = request.form.get("metadata") or "{}"
    try:
        value = json.loads(raw)
    except ValueError:
        abort(400, "Metadata must be a JSON object.")
    users_service.update_user(tenant, user, {"metadata": value})
    return redirect(url_for("admin.users_show", user_id=user.id))
