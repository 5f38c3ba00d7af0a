"""/v2/admin/tenants/{tenant}/logo: the tenant's uploaded logo (PNG, JPEG or SVG).

PUT takes the image as the body (``Content-Type: image/png``, ``image/jpeg`` or
``image/svg+xml``) or as the ``logo`` part of ``multipart/form-data``."""

from __future__ import annotations

from flask import jsonify
from flask import request

from app.api import bp
from app.api.auth import tenant_for
from app.api.errors import ApiError
from app.api.errors import bad_request
from app.api.routes import no_content
from app.services import logos
from app.services.errors import NotFound

MEDIA_TYPES = frozenset(logos.EXTENSIONS)


def _upload() -> tuple[bytes, str | None]:
    """The uploaded bytes and their declared type, read no further than the limit."""
    if (request.content_length or 0) > logos.MAX_BYTES:
        raise ApiError(413, "Payload too large", f"A logo is at most {logos.MAX_BYTES // 1024} KB.")
    if request.mimetype == "multipart/form-data":
        part = request.files.get(logos.FIELD)
        if part is None:
            raise bad_request({logos.FIELD: "send the image as the multipart part `logo`"})
        return part.stream.read(logos.MAX_BYTES + 1), None
    if request.mimetype not in MEDIA_TYPES:
        raise ApiError(
            415,
            "Unsupported media type",
            "Send the logo as image/png, image/jpeg, image/svg+xml or multipart/form-data.",
        )
    return request.stream.read(logos.MAX_BYTES + 1), request.mimetype


@bp.get("/tenants/<tenant_ref>/logo")
def logo_show(tenant_ref):
    tenant = tenant_for(tenant_ref)
    row = logos.get_logo(tenant)
    if row is None:
        raise NotFound("This tenant has no uploaded logo.")
    return jsonify(logos.logo_to_dict(tenant, row))


@bp.put("/tenants/<tenant_ref>/logo")
def logo_put(tenant_ref):
    tenant = tenant_for(tenant_ref)
    data, declared = _upload()
    return jsonify(logos.logo_to_dict(tenant, logos.set_logo(tenant, data, declared)))


@bp.delete("/tenants/<tenant_ref>/logo")
def logo_delete(tenant_ref):
    logos.delete_logo(tenant_for(tenant_ref))
    return no_content()
