"""client_credentials without Authlib's machinery, for the plain success case only.

Measured (bench/NOTES.md): Authlib's request object, client-authentication plumbing,
grant dispatch and response hooks were ~38% of a client_credentials grant's CPU, around
a digest check and a signature. A grant whose request is exactly the common case — POST,
``grant_type=client_credentials``, HTTP Basic credentials of an enabled client of this
tenant that uses ``client_secret_basic`` and may use the grant, each parameter at most
once, optionally with one ``resource`` (RFC 8707) the client has a grant for — is answered
here with the same rules (``grants.client_credentials_scope``,
``issuance.client_token_response``) and the same response. Anything else, including
every failure, returns None and goes to Authlib, which answers it as before (RFC 6749
errors, ``WWW-Authenticate``, the failure count of client authentication).
"""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import unquote

from flask import Response

from app.oauth.grants import client_credentials_scope
from app.services import audiences
from app.services import clients as clients_service
from app.services import issuance

_PARAMS = frozenset({"grant_type", "scope", "resource"})
_HEADERS = {"Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache"}


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1 Basic credentials (form-urlencoded, then base64), as Authlib reads
    them; None for anything else."""
    if not header or " " not in header:
        return None
    kind, value = header.split(None, 1)
    if kind.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if ":" not in decoded:
        return None
    client_id, secret = decoded.split(":", 1)
    return unquote(client_id), unquote(secret)


def client_credentials(request, snapshot) -> Response | None:
    """The token response for a plain, valid client_credentials request; else None."""
    form = request.form
    if request.mimetype != "application/x-www-form-urlencoded" or request.args:
        return None  # (Authlib reads query parameters too)
    if form.get("grant_type") != "client_credentials" or not _PARAMS.issuperset(form):
        return None
    if any(len(values) != 1 for values in form.listvalues()):
        return None
    credentials = _basic_credentials(request.headers.get("Authorization"))
    if credentials is None or not credentials[0] or not credentials[1]:
        return None
    client = clients_service.authenticating_client(snapshot, credentials[0])
    if (
        client is None
        or client.token_endpoint_auth_method != "client_secret_basic"
        or "client_credentials" not in client.grant_types
        or not clients_service.check_client_secret(client, credentials[1])
    ):
        return None
    resource = form.get("resource")
    scope = client_credentials_scope(client, form.get("scope"), resource)
    try:
        body = issuance.client_token_response(snapshot, client, scope, resource)
    except audiences.InvalidTarget:
        return None  # Authlib answers invalid_target
    return Response(json.dumps(body), status=200, headers=_HEADERS)
