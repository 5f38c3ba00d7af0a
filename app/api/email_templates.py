"""/v2/admin/tenants/{tenant}/email-templates/{name}: a tenant's mail wording, per
language (``?locale=``, default: the tenant's ``default_locale``)."""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.auth import tenant_for
from app.api.routes import no_content
from app.api.schemas import SCHEMAS
from app.api.validation import json_body
from app.api.validation import query_str
from app.services import mail_templates
from app.services.settings import get_settings

PATH = "/tenants/<tenant_ref>/email-templates/<template_name>"


def _locale(tenant) -> str:
    return query_str("locale", max_length=8) or get_settings(tenant)["default_locale"]


@bp.get(PATH)
def email_templates_show(tenant_ref, template_name):
    tenant = tenant_for(tenant_ref)
    return jsonify(mail_templates.to_dict(tenant, template_name, _locale(tenant)))


@bp.put(PATH)
def email_templates_put(tenant_ref, template_name):
    tenant = tenant_for(tenant_ref)
    locale = _locale(tenant)
    mail_templates.save(tenant, template_name, locale, json_body(SCHEMAS["EmailTemplatePut"]))
    return jsonify(mail_templates.to_dict(tenant, template_name, locale))


@bp.delete(PATH)
def email_templates_delete(tenant_ref, template_name):
    tenant = tenant_for(tenant_ref)
    mail_templates.restore(tenant, template_name, _locale(tenant))
    return no_content()
