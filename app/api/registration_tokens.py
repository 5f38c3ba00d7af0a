"""/v2/admin/tenants/{tenant}/registration-tokens: initial access tokens for dynamic
client registration (RFC 7591 §3); the token is in the create answer only."""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.auth import tenant_for
from app.api.pagination import page_of_list
from app.api.pagination import page_params
from app.api.routes import created
from app.api.routes import no_content
from app.api.schemas import SCHEMAS
from app.api.validation import json_body
from app.services import registration_tokens

PATH = "/tenants/<tenant_ref>/registration-tokens"


@bp.get(PATH)
def registration_tokens_index(tenant_ref):
    tenant = tenant_for(tenant_ref)
    after, limit = page_params()
    rows = registration_tokens.list_tokens(tenant)
    return jsonify(page_of_list(rows, after, limit, registration_tokens.token_to_dict))


@bp.post(PATH)
def registration_tokens_create(tenant_ref):
    tenant = tenant_for(tenant_ref)
    data = json_body(SCHEMAS["RegistrationTokenCreate"])
    row, token = registration_tokens.create_token(
        tenant, data["name"], expires_in=data.get("expires_in"), max_uses=data.get("max_uses")
    )
    return created({**registration_tokens.token_to_dict(row), "token": token})


@bp.delete(f"{PATH}/<registration_token_id>")
def registration_tokens_delete(tenant_ref, registration_token_id):
    registration_tokens.revoke_token(tenant_for(tenant_ref), registration_token_id)
    return no_content()
