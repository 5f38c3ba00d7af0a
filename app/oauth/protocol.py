"""The protocol endpoints' responses: token, introspection, revocation, userinfo,
discovery and JWKS. Each takes the request explicitly (a Flask or plain Werkzeug request),
so the same code serves the lean WSGI path (app/oauth/lean.py) and the Flask views.

Nothing here touches the browser machinery: no session cookie, CSRF, login manager,
template or rate-limiter evaluation.
"""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6750 import InsufficientScopeError
from authlib.oauth2.rfc6750 import InvalidTokenError
from flask import Response
from flask import current_app
from flask import jsonify
from flask import redirect

from app import json_codec
from app.extensions import db
from app.oauth import direct
from app.oauth import dpop
from app.oauth.answers import JsonAnswer
from app.oauth.answers import as_response
from app.oauth.discovery import DISCOVERY_MAX_AGE
from app.oauth.discovery import JWKS_MAX_AGE
from app.oauth.discovery import metadata
from app.oauth.discovery import prepared
from app.oauth.errors import json_error
from app.oauth.server import authorization
from app.oauth.server import require_oauth
from app.services import claims_request
from app.services import keys
from app.services import tokens
from app.tenancy import current_config
from app.tenant_cache import changed_tenants


def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def server_error() -> Response:
    """RFC 6749 §5.2-style body for an unexpected failure."""
    response = jsonify(
        error="server_error", error_description="The server could not answer this request."
    )
    response.status_code = 500
    return no_store(response)


def http_error(exc) -> Response:
    """A Werkzeug HTTP error (e.g. 413, 400 on a malformed body) as OAuth JSON."""
    response = jsonify(error="invalid_request", error_description=exc.description)
    response.status_code = exc.code or 400
    return no_store(response)


def token(req) -> Response | JsonAnswer:
    # The plain client_credentials and refresh_token grants without Authlib's machinery
    # (app/oauth/direct.py); every other grant, and every failure, through Authlib.
    snapshot = current_config._get_current_object()
    if "DPoP" in req.headers:  # RFC 9449 §5: verified first; the grants bind to its key
        try:
            dpop.verify_token_request(snapshot, req)
        except dpop.ProofError as error:
            return no_store(dpop.token_error(snapshot, error))
        response = authorization.create_token_response(req)
        return no_store(dpop.add_nonce(response, snapshot))
    grant_type = direct.form_value(req, "grant_type")
    if grant_type == "client_credentials":
        response = direct.client_credentials(req, snapshot)
    elif grant_type == "refresh_token":
        response = direct.refresh_token(req, snapshot)
    elif grant_type == "authorization_code":
        response = direct.authorization_code(req, snapshot)
    else:
        response = None
    # A direct answer (app/oauth/answers.py) is no-store already.
    return response or no_store(authorization.create_token_response(req))


def introspection(req) -> Response | JsonAnswer:
    # An active access token asked about by a confidential client: app/oauth/direct.py.
    response = direct.introspection(req, current_config._get_current_object())
    return response or no_store(authorization.create_endpoint_response("introspection", req))


def revocation(req) -> Response:
    return no_store(authorization.create_endpoint_response("revocation", req))


def _bearer(req) -> str:
    """RFC 6750: the Authorization header (§2.1) or, on a form POST without one, the
    ``access_token`` body parameter (§2.2). Raises Authlib's OAuth2Error."""
    if req.method == "POST" and "Authorization" not in req.headers:
        body_token = req.form.get("access_token")
        if body_token:
            return body_token
    _validator, token_string = require_oauth.parse_request_authorization(req)
    return token_string


def _dpop_userinfo(req, snapshot, token_string: str):
    """RFC 9449 §7: ``Authorization: DPoP <token>`` with a proof of the token's key (its
    ``ath`` the token's hash): the claims and user, or an error response."""
    if not token_string:
        return None, dpop.resource_error(snapshot, "invalid_token", "A DPoP token is required.")
    try:
        proof = dpop.verify_proof(
            snapshot,
            dpop.proof_header(req),
            method=req.method,
            path="/oauth2/userinfo",
            access_token=token_string,
        )
    except dpop.ProofError as error:
        return None, dpop.resource_error(snapshot, error.error, error.description)
    try:
        claims, user = tokens.userinfo_user(snapshot, token_string)
    except tokens.InvalidToken:
        return None, dpop.resource_error(snapshot, "invalid_token", "The token is not valid.")
    if tokens.bound_jkt(claims) != proof.jkt:
        description = "The token is not bound to the key of this DPoP proof."
        return None, dpop.resource_error(snapshot, "invalid_token", description)
    return (claims, user), None


def userinfo(req) -> Response | JsonAnswer:
    """OIDC Core §5.3: claims about the token's user, by the token's scopes; one query.
    A DPoP-bound token (RFC 9449) only with the DPoP scheme and a proof of its key."""
    snapshot = current_config._get_current_object()
    dpop_token = dpop.authorization_token(req)
    if dpop_token is not None:
        found, failure = _dpop_userinfo(req, snapshot, dpop_token)
        if failure is not None:
            return no_store(failure)
        claims, user = found
        if "openid" not in tokens.scopes_of(claims.get("scope")):
            return no_store(json_error(InsufficientScopeError()))
        return dpop.add_nonce(as_response(_userinfo_response(claims, user)), snapshot)
    try:
        try:
            claims, user = tokens.userinfo_user(snapshot, _bearer(req))
        except tokens.InvalidToken as exc:
            raise InvalidTokenError() from exc
        if "cnf" in claims:  # RFC 9449 §7.2: a bound token is not a bearer token
            raise InvalidTokenError("This token is DPoP-bound: use the DPoP scheme with a proof.")
        if "openid" not in tokens.scopes_of(claims.get("scope")):
            raise InsufficientScopeError()
    except OAuth2Error as error:
        return json_error(error)
    return _userinfo_response(claims, user)


def _userinfo_response(claims: dict, user) -> Response:
    if user is None:  # e.g. a client_credentials token
        response = jsonify(error="invalid_token", error_description="The token has no user.")
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return no_store(response)
    return _no_store_json(claims_request.userinfo_claims(user, claims.get("scope", "")))


def _no_store_json(body: dict) -> Response | JsonAnswer:
    """``no_store(jsonify(body))``, the same bytes and headers, as the lean path's
    :class:`JsonAnswer` (a tenth of a userinfo request went into ``jsonify`` and two
    header sets, and more into taking the response apart again)."""
    app = current_app._get_current_object()
    if app.debug:  # Flask indents in debug mode
        return no_store(jsonify(body))
    # As Flask's JSON provider writes it: sorted keys, a newline at the end.
    return JsonAnswer(json_codec.dumps(body, sort_keys=True, newline=True))


def _send(req, document: tuple[bytes, str], max_age: int) -> Response:
    data, etag = document
    if req.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(data, mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def fetched_from(req) -> str:
    return f"{req.scheme}://{req.host.lower()}{req.script_root}"


def discovery(req) -> Response:
    """The metadata, as bytes prepared once per snapshot; under a non-canonical form of
    the tenant's address, a redirect to its issuer (the URL it must be fetched from)."""
    snapshot = current_config._get_current_object()
    if fetched_from(req) != snapshot.issuer:
        return redirect(f"{snapshot.issuer}{req.path}", code=308)
    document = snapshot.derived("discovery", lambda: prepared(metadata(snapshot.issuer)))
    return _send(req, document, DISCOVERY_MAX_AGE)


def jwks(req) -> Response:
    snapshot = current_config._get_current_object()
    document = snapshot.memo.get("jwks")
    if document is None:
        document = prepared(keys.jwks(snapshot))
        if snapshot.id not in changed_tenants(db.session):  # keys made now: not kept
            snapshot.memo["jwks"] = document
    return _send(req, document, JWKS_MAX_AGE)
