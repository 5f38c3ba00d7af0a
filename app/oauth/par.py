"""POST /oauth2/par: pushed authorization requests (RFC 9126).

The client authenticates exactly as at the token endpoint (Authlib's client authentication,
with its failure counting, app/oauth/client_auth.py; a public client with ``none``) and
pushes the parameters of an authorization request in the body. They are validated as
/oauth2/authorize would (client, redirect_uri, response_type, scope, PKCE S256, nonce,
prompt, ``resource``, ``response_mode``), kept server-side (app/services/pushed_requests.py)
and named by a single-use ``request_uri`` that expires in 60 s (201). Errors are RFC 6749
§5.2 JSON. The endpoint counts against the tenant's token rate like /oauth2/token.

A signed request object (``request``, RFC 9101 via RFC 9126 §3; app/services/
request_objects.py) may be pushed: its claims are then the whole request (the body's other
authorization parameters are ignored), validated and kept like any other.
"""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from flask import Response
from flask import jsonify
from werkzeug.datastructures import MultiDict

from app.oauth import dpop
from app.oauth import form_post
from app.oauth.authorize import ParamsView
from app.oauth.authorize import requested_resources
from app.oauth.grants import AuthorizationCodeGrant
from app.oauth.server import authorization
from app.quotas import gate
from app.services import audiences
from app.services import claims_request
from app.services import pushed_requests
from app.services import request_objects
from app.tenancy import current_config

# Client authentication travels beside the request's parameters; never kept with them.
_CLIENT_AUTH_PARAMS = frozenset({"client_secret", "client_assertion", "client_assertion_type"})
# What one pushed request may hold (names and values): far more than any authorization URL
# carries, far less than the form parser accepts (the row lives 60 s).
MAX_CHARS = 32 * 1024


def _error(error: str, description: str, status: int = 400) -> Response:
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    return response


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def handle(req) -> Response:
    """The PAR endpoint's answer to ``req`` (a Flask request)."""
    snapshot = current_config._get_current_object()
    # The tenant's token_requests_per_second, as on /oauth2/token.
    refused = gate.over_token_rate(snapshot)
    return refused or _no_store(_push(req, snapshot))


def _push(req, tenant) -> Response:
    auth_request = authorization.create_oauth2_request(req)
    try:
        client = authorization.authenticate_client(
            auth_request, AuthorizationCodeGrant.TOKEN_ENDPOINT_AUTH_METHODS, "token"
        )
    except OAuth2Error as error:
        # As at the token endpoint: 401 with a challenge, failures counted (then 429).
        return authorization.handle_error_response(auth_request, error)

    form = req.form
    if "request_uri" in form:  # RFC 9126 §2.1
        return _error("invalid_request", "request_uri cannot be pushed.")
    if "request" in form:  # RFC 9126 §3: the request object is the whole request
        if form.get("client_id", client.client_id) != client.client_id:
            return _error("invalid_request", "client_id is not the authenticated client.")
        try:
            pairs = request_objects.unpack(tenant, client.client_id, form["request"])
        except request_objects.InvalidRequestObject as exc:
            return _error(exc.error, str(exc))
        values = MultiDict(pairs)
    else:
        values = MultiDict(
            [(k, v) for k, v in form.items(multi=True) if k not in _CLIENT_AUTH_PARAMS]
        )
    if any("\x00" in v for _, v in values.items(multi=True)):
        return _error("invalid_request", "The authorization request is malformed.")
    if sum(len(k) + len(v) for k, v in values.items(multi=True)) > MAX_CHARS:
        # RFC 9126 §2.3: 413 for a request beyond what the server accepts
        return _error("invalid_request", "The authorization request is too large.", 413)
    if values.get("client_id", client.client_id) != client.client_id:
        return _error("invalid_request", "client_id is not the authenticated client.")
    values["client_id"] = client.client_id
    # RFC 9449 §10.1: a DPoP proof sent with the push binds the code to its key, as the
    # dpop_jkt parameter does (both: they must name the same key).
    try:
        proof_value = dpop.proof_header(req)
        proof = (
            dpop.verify_proof(tenant, proof_value, method="POST", path="/oauth2/par")
            if proof_value is not None
            else None
        )
    except dpop.ProofError as exc:
        return dpop.token_error(tenant, exc)
    if proof is not None:
        if values.get("dpop_jkt") not in (None, proof.jkt):
            return _error("invalid_request", "dpop_jkt is not the key of the DPoP proof.")
        values["dpop_jkt"] = proof.jkt

    problem = _validate(req, tenant, values)
    if problem is not None:
        return problem
    request_uri = pushed_requests.push(tenant, client.client_id, list(values.items(multi=True)))
    response = jsonify(request_uri=request_uri, expires_in=pushed_requests.EXPIRES_IN)
    response.status_code = 201
    return response


def _validate(req, tenant, values: MultiDict) -> Response | None:
    """The authorization request as /oauth2/authorize validates it; an error or None."""
    oauth_request = authorization.create_oauth2_request(ParamsView(req, values))
    try:
        grant = authorization.get_authorization_grant(oauth_request)
        grant.validate_no_multiple_request_parameter(oauth_request)
        grant.validate_authorization_request()
    except OAuth2Error as error:
        return _error(error.error, error.description or error.error.replace("_", " "))
    except ValueError:  # Authlib would not echo a malformed parameter
        return _error("invalid_request", "The authorization request is malformed.")
    if form_post.mode_of(values) is None:
        return _error("invalid_request", "response_mode must be query or form_post.")
    try:  # refused now, not when the browser arrives (OIDC Core §5.5)
        claims_request.parse(values.get("claims"))
    except claims_request.InvalidClaimsRequest as exc:
        return _error("invalid_request", str(exc))
    prompts = (values.get("prompt") or "").split()
    if "none" in prompts and len(prompts) > 1:
        return _error("invalid_request", "prompt=none cannot be combined with other values.")
    try:
        requested_resources(tenant, values, grant)
    except audiences.InvalidTarget as exc:
        return _error("invalid_target", str(exc))
    except audiences.ScopeTooLong as exc:
        return _error("invalid_scope", str(exc))
    return None
