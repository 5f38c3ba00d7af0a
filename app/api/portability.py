"""/v2/admin/tenants/{tenant}: ``/users/import`` (bulk import jobs), ``/export`` (the
tenant as JSON, streamed) and ``/users/{id}/export`` (one person's data, GDPR Art. 15/20)."""

from __future__ import annotations

from flask import Response
from flask import jsonify
from flask import request
from flask import stream_with_context
from flask import url_for

from app.api import bp
from app.api.auth import tenant_for
from app.api.errors import ApiError
from app.api.errors import bad_request
from app.api.serializers import import_job_to_dict
from app.extensions import db
from app.jobs import imports as runner
from app.services import users as users_service
from app.services.portability import account_data
from app.services.portability import jobs
from app.services.portability import sources
from app.services.portability import tenant_export

JSON_TYPES = {"application/json"}
LINES_TYPES = {"application/x-ndjson", "application/jsonl", "application/json-lines"}


def _check_start(path: str, mimetype: str) -> None:
    """A JSON body must be an array (or a tenant export); JSON Lines starts with an object."""
    with open(path, "rb") as stream:
        kind = sources.sniff(stream)
        head = stream.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise bad_request({"body": "the file is empty"})
    if mimetype in JSON_TYPES and kind == "lines":
        raise bad_request(
            {"body": "send a JSON array of users, or JSON Lines as application/x-ndjson"}
        )
    if mimetype in LINES_TYPES and not head.startswith(b"{"):
        raise bad_request({"body": "JSON Lines: one JSON object per line"})


@bp.post("/tenants/<tenant_ref>/users/import")
def users_import(tenant_ref):
    tenant = tenant_for(tenant_ref)
    if request.mimetype not in JSON_TYPES | LINES_TYPES:
        raise ApiError(
            415,
            "Unsupported media type",
            "Send a JSON array (application/json) or JSON Lines (application/x-ndjson).",
        )
    try:
        job = runner.start(
            tenant,
            request.stream,
            request.args.get("filename", "")[:255],
            check=lambda path: _check_start(path, request.mimetype),
        )
    except ValueError as exc:
        raise ApiError(413, "Too large", str(exc)) from exc
    response = jsonify(import_job_to_dict(job))
    response.status_code = 202
    response.headers["Location"] = url_for(
        "api.users_import_show", tenant_ref=tenant_ref, job_id=job.id
    )
    return response


@bp.get("/tenants/<tenant_ref>/users/import/<job_id>")
def users_import_show(tenant_ref, job_id):
    tenant = tenant_for(tenant_ref)
    return jsonify(import_job_to_dict(jobs.get_job(tenant, job_id)))


@bp.get("/tenants/<tenant_ref>/export")
def tenant_export_stream(tenant_ref):
    tenant = tenant_for(tenant_ref)
    chunks = tenant_export.export_tenant(tenant)
    db.session.commit()  # the audit event, before the body streams
    response = Response(stream_with_context(chunks), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{tenant.slug}.json"'
    return response


@bp.get("/tenants/<tenant_ref>/users/<user_id>/export")
def users_export(tenant_ref, user_id):
    tenant = tenant_for(tenant_ref)
    user = users_service.get_user(tenant, user_id)
    return jsonify(account_data.user_data(tenant, user, audited=True))
