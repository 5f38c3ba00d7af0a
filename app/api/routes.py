"""Wires the admin API together: authentication, path sanity, the resource modules."""

from __future__ import annotations

from flask import jsonify

from app.api import auth
from app.api import bp
from app.services.errors import NotFound

bp.before_request(auth.authenticate)


@bp.after_request
def _count_api_call(response):
    """Each call about a tenant counts in that tenant's usage (``api_calls``)."""
    from flask import g

    from app.services import usage as usage_service

    tenant_id = g.get("api_tenant_id")
    if tenant_id:
        usage_service.count(tenant_id, "api_calls")
    return response


@bp.url_value_preprocessor
def _sane_path_values(_endpoint, values):
    """Ids and slugs are short and printable; anything else names nothing (404)."""
    for value in (values or {}).values():
        if isinstance(value, str) and (len(value) > 100 or not value.isprintable()):
            raise NotFound("Not found.")


def created(payload: dict):
    response = jsonify(payload)
    response.status_code = 201
    return response


def no_content():
    return "", 204


# The resource modules register their routes on ``bp`` when imported.
from app.api import admin_keys  # noqa: E402,F401
from app.api import audit  # noqa: E402,F401
from app.api import clients  # noqa: E402,F401
from app.api import connections  # noqa: E402,F401
from app.api import domains  # noqa: E402,F401
from app.api import email_templates  # noqa: E402,F401
from app.api import invitations  # noqa: E402,F401
from app.api import keys  # noqa: E402,F401
from app.api import logo  # noqa: E402,F401
from app.api import openapi  # noqa: E402,F401
from app.api import orgs  # noqa: E402,F401
from app.api import portability  # noqa: E402,F401
from app.api import providers  # noqa: E402,F401
from app.api import registration_tokens  # noqa: E402,F401
from app.api import resources  # noqa: E402,F401
from app.api import roles  # noqa: E402,F401
from app.api import sessions  # noqa: E402,F401
from app.api import settings  # noqa: E402,F401
from app.api import tenants  # noqa: E402,F401
from app.api import usage  # noqa: E402,F401
from app.api import users  # noqa: E402,F401
from app.api import webhooks  # noqa: E402,F401
