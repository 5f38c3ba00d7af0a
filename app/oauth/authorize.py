"""The authorization endpoint's interaction: sign-in, re-authentication, organization,
consent, then Authlib issues the code.

Authlib validates the request (client, exact redirect URI, response_type, scope, PKCE,
nonce, prompt); this module decides what the user must do before a code is issued:

* no session → ``/login?next=<this request>`` (``prompt=none`` → ``login_required``);
* ``prompt=login``, an exceeded ``max_age``, or an ``id_token_hint`` naming another user →
  sign out and sign in again (``prompt=none`` → ``login_required``);
* ``organization=org_...`` selects the active organization (a non-member →
  ``invalid_request``); ``prompt=select_organization`` shows a picker;
* a third-party client without a remembered consent → the consent page
  (``prompt=consent`` forces it; ``prompt=none`` → ``consent_required``); it lists the
  permissions each requested API (``resource``, RFC 8707) would get, and the grant then
  never carries more than that.

A ``resource`` that is not one of this tenant's API identifiers is ``invalid_target``.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask_wtf.csrf import ValidationError
from flask_wtf.csrf import validate_csrf
from werkzeug.datastructures import MultiDict

from app.mfa.flow import step_up_redirect
from app.models.base import utcnow
from app.oauth import errors
from app.oauth.organizations import session_organization
from app.oauth.organizations import user_organizations
from app.oauth.server import authorization
from app.services import audiences
from app.services import consent as consent_service
from app.services import issuance
from app.services import registration
from app.services import tokens
from app.services.errors import ValidationFailed
from app.services.resource_config import resource_config
from app.tenancy import current_tenant
from app.web.session import current_session
from app.web.session import sign_out

# Parameters the interaction itself adds to the form posts; never forwarded.
_OWN_FIELDS = {"csrf_token", "decision"}
SCOPE_TEXT = {
    "openid": "Sign you in with your account",
    "profile": "See your name",
    "email": "See your email address",
    "offline_access": "Stay signed in to the app",
}


def _params(drop_prompts=(), drop=()) -> MultiDict:
    """The authorization request's parameters (query or form), minus some; repeated ones
    (``resource``) keep every value."""
    values = MultiDict(
        [(k, v) for k, v in request.values.items(multi=True) if k not in _OWN_FIELDS | set(drop)]
    )
    if "prompt" in values and drop_prompts:
        kept = [p for p in values["prompt"].split() if p not in drop_prompts]
        values["prompt"] = " ".join(kept)
        if not kept:
            del values["prompt"]
    return values


def _query(values: MultiDict) -> str:
    return urlencode(list(values.items(multi=True)))


def _to_login(drop_prompts=(), drop=()):
    """Redirect to the hosted login page, coming back here afterwards."""
    next_path = f"{request.script_root}/oauth2/authorize?{_query(_params(drop_prompts, drop))}"
    query = {"next": next_path}
    if request.values.get("login_hint"):
        query["login_hint"] = request.values["login_hint"]
    return redirect(f"{request.script_root}/login?{urlencode(query)}", code=302)


def _max_age_exceeded(session) -> bool:
    raw = request.values.get("max_age")
    if raw is None or raw == "":
        return False
    try:
        max_age = int(raw)
    except ValueError:
        return False
    return utcnow() - session.auth_time > timedelta(seconds=max(max_age, 0))


def handle():
    """GET or POST /oauth2/authorize."""
    if any("\x00" in value for _, value in request.values.items(multi=True)):
        # A NUL can't be stored (PostgreSQL text) nor trusted in a redirect.
        return errors.error_page("The authorization request is malformed.")
    session = current_session()
    user = g.get("session_user") if session is not None else None
    try:
        grant = authorization.get_consent_grant(end_user=user)
    except OAuth2Error as error:
        return errors.authorization_error(error, request.values.get("state"))
    except ValueError:
        # Authlib refuses to build an error whose description would echo a malformed
        # parameter (a backslash or quote in redirect_uri, RFC 6749 §5.2): the request
        # cannot be trusted enough to redirect, so the error page answers.
        return errors.error_page("The authorization request is malformed.")

    tenant = current_tenant._get_current_object()
    client = grant.request.client.row
    redirect_uri = grant.redirect_uri
    state = request.values.get("state")
    prompts = set((request.values.get("prompt") or "").split())

    def fail(error: str, description: str):
        return errors.redirect_error(redirect_uri, error, description, state)

    if "none" in prompts and len(prompts) > 1:
        return fail("invalid_request", "prompt=none cannot be combined with other values.")

    # 0. The APIs asked for (RFC 8707 §2): this tenant's identifiers only.
    requested = request.values.getlist("resource")
    config = resource_config(tenant) if requested else None
    try:
        requested = audiences.resolve(config, requested) if requested else ()
    except audiences.InvalidTarget as exc:
        return fail("invalid_target", str(exc))
    code_scope = None
    if requested:  # their permissions asked in `scope` are kept beside the client's scopes
        try:
            code_scope = audiences.with_permissions(
                grant.request.scope or "", grant.request.payload.scope, config, requested
            )
        except audiences.ScopeTooLong as exc:
            return fail("invalid_scope", str(exc))

    # 1. Who is signing in (OIDC Core §3.1.2.3).
    if user is None:
        if "none" in prompts:
            return fail("login_required", "The user is not signed in.")
        return _to_login()
    if "login" in prompts or _max_age_exceeded(session):
        if "none" in prompts:
            return fail("login_required", "The user must sign in again.")
        sign_out()
        return _to_login(drop_prompts=("login",), drop=("max_age",))
    hint = request.values.get("id_token_hint")
    if hint:
        try:
            hinted = tokens.verify_id_token_hint(tenant, hint)
        except tokens.InvalidToken:
            return fail("invalid_request", "The id_token_hint is not valid here.")
        if hinted.get("sub") != user.id:
            if "none" in prompts:
                return fail("login_required", "A different user is signed in.")
            sign_out()
            return _to_login(drop=("id_token_hint",))

    # 1b. A second factor when the client asks for one (acr_values, OIDC Core §3.1.2.1) or
    # the tenant's policy requires one, and this session was established without it.
    here = f"{request.script_root}/oauth2/authorize?{_query(_params())}"
    step_up = step_up_redirect(user, session, here, request.values.get("acr_values"))
    if step_up is not None:
        if "none" in prompts:
            return fail("interaction_required", "A second factor is needed to continue.")
        return step_up

    # 2. Which organization is active (DESIGN §4).
    org_id = request.values.get("organization")
    if org_id:
        try:
            issuance.check_organization(tenant, user, org_id)
        except ValidationFailed as exc:
            return fail("invalid_request", exc.errors["organization"])
    elif "select_organization" in prompts:
        orgs = user_organizations(tenant, user)
        if orgs and "none" not in prompts:
            fields = _params(drop_prompts=("select_organization",))
            return render_template(
                "oauth/select_organization.html", client=client, orgs=orgs, fields=fields
            )
    else:
        org_id = session_organization(tenant, user, session)

    # 3. Consent for third-party clients: the OIDC scopes, and per requested API the
    # permissions its tokens would carry now (what is shown is what is remembered).
    scope_value = code_scope or grant.request.scope or ""
    shown = None
    if requested and not client.first_party:
        keys = issuance.user_role_keys(tenant, user, org_id)
        shown = audiences.consent_permissions(config, requested, scope_value, keys)
        scope_value = audiences.oidc_scope(scope_value, config)
    if "consent" in prompts or consent_service.needs_consent(
        tenant, user, client, scope_value, shown
    ):
        if "none" in prompts:
            return fail("consent_required", "The user has not consented to this client.")
        decision = request.form.get("decision") if request.method == "POST" else None
        if decision is None:
            return _consent_page(client, scope_value, config, shown)
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            return errors.error_page("The form expired. Go back to the app and try again.")
        if decision != "approve":
            return fail("access_denied", "The user denied the request.")
        consent_service.grant_consent(tenant, user, client, scope_value, shown)

    # 4. Issue the code (Authlib), with iss added by the RFC 9207 extension.
    if org_id:
        session.active_org_id = org_id
    grant.request.gatehouse = {
        "session": session,
        "org_id": org_id,
        "resources": audiences.grant_resources(requested, shown),
        "scope": code_scope,  # Authlib validates the request again and resets its scope
    }
    return authorization.create_authorization_response(
        request=grant.request, grant_user=user, grant=grant
    )


def _consent_page(client, scope_value: str, config=None, shown=None):
    scopes = [(s, SCOPE_TEXT.get(s, s)) for s in scope_value.split()]
    apis = []
    for identifier, names in (shown or {}).items():
        entry = config.resource(identifier)
        apis.append(
            {
                "name": entry.name,
                "identifier": identifier,
                "permissions": [(n, entry.descriptions.get(n, "")) for n in names],
            }
        )
    return render_template(
        "oauth/consent.html",
        client=client,
        scopes=scopes,
        apis=apis,
        fields=_params(),
        # A dynamically registered client's own logo and links (RFC 7591 §2), as it said.
        registered=registration.extras_of(current_tenant, client.id),
    )
