"""The signed-in authorization request of the plain code flow, answered without Authlib's
machinery (as app/oauth/direct.py does at the token endpoint), for the success case only.

Measured (bench/NOTES.md, seventh pass on sign-in): Authlib's request object, grant
dispatch, the validation it runs twice and its response hooks were ~30% of a signed-in
authorization's CPU, and the session and its user read as ORM entities ~20%. A request
that is exactly the common case is answered here:

* GET, with ``response_type=code``, ``client_id``, ``redirect_uri``, a PKCE
  ``code_challenge`` with ``code_challenge_method=S256``, and optionally ``scope``,
  ``state``, ``nonce`` and ``response_mode=query``: each once, and nothing else (no
  ``prompt``, ``max_age``, ``id_token_hint``, ``login_hint``, ``claims``, ``acr_values``,
  ``organization``, ``resource``, ``request``, ``request_uri``, ``dpop_jkt``, ...);
* a live session of this tenant whose user is active (read as row values);
* an enabled client of this tenant that may use ``response_type=code``, that names a
  redirect URI it registered (checked as Authlib checks it: exactly, RFC 9700 §4.1.3),
  and that need not push its requests (RFC 9126);
* nothing for the person to do: no second factor to add, no consent to ask.

The rules are the ones the full path applies (app/oauth/authorize.py), called the same
way; the code is stored by the same function (app/oauth/grants.store_code) and the
redirect is Authlib's: ``code``, ``state`` when one was sent, then ``iss`` (RFC 9207 §2).
Anything else returns None and the full path answers it as before. No error is built here,
so every error answer (and an invalid redirect URI never being redirected to, RFC 6749
§4.1.2.1) stays the full path's.
"""

from __future__ import annotations

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc7636.challenge import CODE_CHALLENGE_PATTERN
from flask import request

from app.models.base import utcnow
from app.oauth.grants import new_code
from app.oauth.grants import store_code
from app.oauth.organizations import session_organization
from app.oauth.server import authorization
from app.services import audiences
from app.services import audit
from app.services import claims_request
from app.services import consent
from app.services import mfa
from app.services import pushed_requests
from app.services import sessions
from app.tenancy import issuer_for
from app.web.session import cookie_name

_PARAMS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "response_mode",
    }
)


def _plain_values() -> dict | None:
    """The request's parameters when it is a plain code request (see above), else None."""
    if request.method != "GET":
        return None
    values = {}
    for name, given in request.args.lists():
        if name not in _PARAMS or len(given) != 1:
            return None
        values[name] = given[0]
    challenge = values.get("code_challenge")
    if (
        values.get("response_type") != "code"
        or values.get("response_mode", "query") != "query"
        or not values.get("client_id")
        or not values.get("redirect_uri")
        or not challenge
        or values.get("code_challenge_method") != "S256"
        or not CODE_CHALLENGE_PATTERN.match(challenge)
    ):
        return None
    return values


def respond(tenant):
    """The authorization response (a 302 with the code) for a plain code request of a
    signed-in person who has nothing to do; None for every other request."""
    values = _plain_values()
    if values is None:
        return None
    found = sessions.read_signed_in(tenant, request.cookies.get(cookie_name(tenant.id)))
    if found is None:
        return None
    session, user = found
    now = utcnow()
    if not user.is_active or not sessions.is_live(session, tenant, now):
        return None  # the full path ends the session, as the cookie's loader does
    client = authorization.query_client(values["client_id"])
    redirect_uri = values["redirect_uri"]
    if (
        client is None
        or not client.check_redirect_uri(redirect_uri)
        or not client.check_response_type("code")
    ):
        return None
    try:
        authorization.validate_requested_scope(values.get("scope"))
    except OAuth2Error:
        return None
    scope = client.get_allowed_scope(values.get("scope"))  # unregistered scopes dropped
    if pushed_requests.is_required(tenant, client.row):
        return None
    if mfa.session_needs_step_up(tenant, user, session):
        return None
    org_id = session_organization(tenant, user, session)
    if consent.needs_consent(tenant, user, client.row, scope):
        return None

    if sessions.needs_touch(session, now):
        sessions.touch(tenant, session.id, now)
    code = new_code()
    store_code(
        code,
        client_id=client.row.id,
        user_id=user.id,
        session=session,
        redirect_uri=redirect_uri,
        scope=scope,
        data=values,
        org_id=org_id,
        acr=claims_request.AcrRequest.of(None, None).acr_for(session.amr),
        resources=audiences.grant_resources(()),
    )
    audit.act_as("user", user.id)
    # Authlib's response: code and state appended to the redirect URI's query, then iss
    # (RFC 9207) appended by its issuer extension; one pass gives the same query.
    params = [("code", code)]
    if values.get("state"):
        params.append(("state", values["state"]))
    params.append(("iss", issuer_for(tenant)))
    location = add_params_to_uri(redirect_uri, params)
    return authorization.handle_response(302, "", [("Location", location)])
