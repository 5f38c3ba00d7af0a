"""client_credentials, refresh_token and introspection without Authlib's machinery, for
the plain success case only.

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

The same for refresh_token (:func:`refresh_token`): POST, ``grant_type=refresh_token``
and ``refresh_token`` only (no ``scope``, ``organization`` or ``resource``), a client that
authenticates with HTTP Basic (``client_secret_basic``) or is public (``none``, with its
``client_id`` in the form), a live token of this client whose user is active. Only the
success path runs here (one read, then the atomic claim with the new token's INSERT: one
statement on PostgreSQL, app/services/grants.rotate_refresh_token); a token
already used, expired, revoked or of another client is left untouched and goes to
Authlib, which answers and applies reuse detection exactly as before.

And introspection (:func:`introspection`) of an active access token by a confidential
client with HTTP Basic; every other introspection request goes to Authlib.

DPoP (RFC 9449): a request with a ``DPoP`` header, a client with
``dpop_bound_access_tokens`` and a refresh token bound to a key all go to Authlib, whose
grants bind the tokens (app/oauth/dpop.py); plain Bearer requests stay here.
"""

from __future__ import annotations

import base64
import binascii
import io
from urllib.parse import parse_qsl
from urllib.parse import unquote

from authlib.oauth2.rfc7636.challenge import CODE_VERIFIER_PATTERN
from authlib.oauth2.rfc7636.challenge import compare_s256_code_challenge

from app.models.base import utcnow
from app.oauth.answers import JsonAnswer
from app.oauth.grants import client_credentials_scope
from app.services import audiences
from app.services import clients as clients_service
from app.services import grants as grants_service
from app.services import issuance
from app.services import tokens

_PARAMS = frozenset({"grant_type", "scope", "resource"})
_REFRESH_PARAMS = frozenset({"grant_type", "refresh_token", "client_id"})


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


_FORM = "gatehouse.plain_form"  # environ: the body parsed by plain_form (or None)
_MAX_PARAMETERS = 16


def plain_form(request) -> dict | None:
    """The body of a plain protocol request as ``{name: value}``: a urlencoded body, no
    query string (Authlib reads query parameters too), no ``DPoP`` header (the full path
    decides those), each parameter once, UTF-8; else None. Parsed from the bytes Werkzeug
    reads and keeps (``request.form`` still works afterwards, for Authlib), with
    ``urllib.parse``: Werkzeug's form machinery was a tenth of a client_credentials
    grant. Once per request."""
    environ = request.environ
    if _FORM in environ:
        return environ[_FORM]
    form = None
    content_type = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
    if (
        content_type == "application/x-www-form-urlencoded"
        and not environ.get("QUERY_STRING")
        and "HTTP_DPOP" not in environ
    ):
        body = _read_body(environ)
        if body is None:
            body = request.get_data(cache=True)
        try:
            pairs = parse_qsl(
                body.decode("ascii"),
                keep_blank_values=True,
                errors="strict",
                max_num_fields=_MAX_PARAMETERS,
            )
        except (UnicodeDecodeError, ValueError):  # not ASCII, bad UTF-8, too many fields
            pairs = None
        if pairs is not None:
            form = dict(pairs)
            if len(form) != len(pairs):  # a parameter twice: RFC 6749 §3.2 says invalid
                form = None
    environ[_FORM] = form
    return form


def form_value(request, name: str, default: str = "") -> str:
    """A body parameter: from the plain form when the body is one (no second parse),
    else from Werkzeug's form, as Authlib reads it."""
    form = plain_form(request)
    return (form if form is not None else request.form).get(name, default)


_MAX_PLAIN_BODY = 16 * 1024  # a token request's body is a few hundred bytes


def _read_body(environ) -> bytes | None:
    """A body of known, small length read straight from ``wsgi.input`` (Werkzeug's
    stream wrappers cost ~6% of a client_credentials grant) and put back as a buffer for
    whoever reads it next (Werkzeug's form parser, for Authlib). None when the length is
    absent, not a number or large, or the body ends short of it: then Werkzeug reads it
    (from the buffer), with its own limits and errors (a short body is a 400)."""
    length = environ.get("CONTENT_LENGTH", "")
    if not length.isdigit() or int(length) > _MAX_PLAIN_BODY:
        return None
    stream, remaining, chunks = environ["wsgi.input"], int(length), []
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    body = b"".join(chunks)
    environ["wsgi.input"] = io.BytesIO(body)
    return None if remaining else body


def _plain_form(request, grant_type: str, allowed: frozenset) -> dict | None:
    """The form of a plain token request for ``grant_type`` (only ``allowed``
    parameters); else None."""
    form = plain_form(request)
    if form is None or form.get("grant_type") != grant_type or not allowed.issuperset(form):
        return None
    return form


def _basic_client(request, snapshot):
    """The enabled ``client_secret_basic`` client whose HTTP Basic credentials the request
    carries, the secret checked; else None."""
    credentials = _basic_credentials(request.environ.get("HTTP_AUTHORIZATION"))
    if credentials is None or not credentials[0] or not credentials[1]:
        return None
    client = clients_service.authenticating_client(snapshot, credentials[0])
    if (
        client is None
        or client.token_endpoint_auth_method != "client_secret_basic"
        or not clients_service.check_client_secret(client, credentials[1])
    ):
        return None
    return client


def client_credentials(request, snapshot) -> JsonAnswer | None:
    """The token response for a plain, valid client_credentials request; else None."""
    form = _plain_form(request, "client_credentials", _PARAMS)
    if form is None:
        return None
    client = _basic_client(request, snapshot)
    if (
        client is None
        or "client_credentials" not in client.grant_types
        or client.dpop_bound_access_tokens  # no proof here: Authlib refuses it
    ):
        return None
    resource = form.get("resource")
    scope = client_credentials_scope(client, form.get("scope"), resource)
    try:
        body = issuance.client_token_response(snapshot, client, scope, resource)
    except audiences.InvalidTarget:
        return None  # Authlib answers invalid_target
    return JsonAnswer.of(body)


def _user_grant_client(request, form, snapshot, grant_type: str):
    """The client of a plain refresh or code request, allowed ``grant_type`` and not
    bound to DPoP: HTTP Basic with a ``client_secret_basic`` client's secret (no
    ``client_id`` in the form), or a public client named by the form's ``client_id`` with
    no Authorization header; else None."""
    if "HTTP_AUTHORIZATION" not in request.environ:
        client = clients_service.authenticating_client(snapshot, form.get("client_id"))
        if client is None or client.token_endpoint_auth_method != "none":
            return None
    elif "client_id" in form:
        return None
    else:
        client = _basic_client(request, snapshot)
    if client is None or grant_type not in client.grant_types or client.dpop_bound_access_tokens:
        return None
    return client


def refresh_token(request, snapshot) -> JsonAnswer | None:
    """The token response for a plain, valid refresh: rotation (the atomic claim of the
    presented token), a new access token, refresh token and ID token; else None (and
    nothing written)."""
    form = _plain_form(request, "refresh_token", _REFRESH_PARAMS)
    if form is None or not form.get("refresh_token"):
        return None
    client = _user_grant_client(request, form, snapshot, "refresh_token")
    if client is None:
        return None
    presented = grants_service.find_presented_refresh(
        snapshot, form["refresh_token"], outside_session=True
    )
    if (
        presented is None
        or presented.grant.client_id != client.id
        or presented.user is None
        or not presented.user.is_active
        or not presented.is_live
        or presented.row.dpop_jkt is not None  # bound to a DPoP key: no proof here
    ):
        return None  # Authlib answers (and revokes the family of a used token)
    refresh = grants_service.rotate_refresh_token(snapshot, presented)
    if refresh is None:  # lost a race for this token: its family is revoked now
        return None
    grant, user = presented.grant, presented.user
    keys = issuance.role_keys(presented.tenant_roles, presented.org_roles)
    body = issuance.user_token_response(
        snapshot, client, user, grant, include_refresh=False, keys=keys
    )
    body["refresh_token"] = refresh
    issuance.add_id_token(snapshot, client, user, grant, body)
    return JsonAnswer.of(body)


_INTROSPECTION_PARAMS = frozenset({"token", "token_type_hint"})


def introspection(request, snapshot) -> JsonAnswer | None:
    """RFC 7662 for the common case: an active access token (a JWT of this tenant, alive
    in the one revocation query) presented by a confidential client with HTTP Basic.
    Anything else — a refresh token, a hint other than ``access_token``, a token that is
    not active, another way of authenticating — returns None and goes to Authlib."""
    form = plain_form(request)
    if form is None or not _INTROSPECTION_PARAMS.issuperset(form):
        return None
    token_string = form.get("token")
    if not token_string or token_string.startswith("rt_"):
        return None
    if form.get("token_type_hint", "access_token") != "access_token":
        return None
    if _basic_client(request, snapshot) is None:
        return None
    try:
        claims = tokens.verify_access_token(snapshot, token_string)
    except tokens.InvalidToken:
        return None
    # RFC 9449 §6.2: a DPoP-bound token says so, with its cnf (among the claims).
    body = {"active": True, "token_type": tokens.token_type_of(claims), **claims}
    return JsonAnswer.of(body)


_CODE_PARAMS = frozenset({"grant_type", "code", "redirect_uri", "code_verifier", "client_id"})


def _verifier_ok(code, verifier: str | None, public: bool) -> bool:
    """Authlib's PKCE check at the token endpoint (CodeChallenge.validate_code_verifier,
    S256 only here), as a yes/no: any failure goes to Authlib for its error."""
    challenge = code.code_challenge
    if public and not verifier:
        return False
    if not challenge:
        return not verifier
    if not verifier or not CODE_VERIFIER_PATTERN.match(verifier):
        return False
    if (code.code_challenge_method or "S256") != "S256":
        return False
    return compare_s256_code_challenge(verifier, challenge)


def authorization_code(request, snapshot) -> JsonAnswer | None:
    """The token response for a plain, valid code exchange; else None (nothing written).

    Everything is checked before the code is used: client, code of this client, unused and
    unexpired, redirect_uri, PKCE, an active user, no DPoP binding. Then the atomic claim
    (which names the new grant: a replay revokes it, RFC 6749 §4.1.2), the grant and
    refresh token INSERTs (one statement on PostgreSQL, grants.exchange_code). A lost race
    for the claim goes to Authlib, which answers it."""
    form = _plain_form(request, "authorization_code", _CODE_PARAMS)
    if form is None:
        return None
    client = _user_grant_client(request, form, snapshot, "authorization_code")
    if client is None:
        return None
    presented = grants_service.find_presented_code(snapshot, form.get("code"))
    if presented is None:
        return None
    code, user = presented.row, presented.user
    if (
        code.client_id != client.id
        or code.used_at is not None
        or code.expires_at <= utcnow()
        or code.dpop_jkt is not None
        or (code.redirect_uri and form.get("redirect_uri") != code.redirect_uri)
        or not _verifier_ok(code, form.get("code_verifier"), client.is_public)
        or user is None
        or not user.is_active
    ):
        return None
    with_refresh = "refresh_token" in client.grant_types
    exchanged = grants_service.exchange_code(snapshot, client, code, with_refresh=with_refresh)
    if exchanged is None:
        return None  # lost a race: Authlib finds it used (and revokes what it produced)
    grant, refresh = exchanged
    keys = issuance.role_keys(presented.tenant_roles, presented.org_roles)
    body = issuance.user_token_response(
        snapshot, client, user, grant, include_refresh=False, keys=keys
    )
    if refresh is not None:
        body["refresh_token"] = refresh
    issuance.add_id_token(snapshot, client, user, grant, body, nonce=code.nonce)
    return JsonAnswer.of(body)
