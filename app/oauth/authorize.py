"""The authorization endpoint's interaction: sign-in, re-authentication, organization,
consent, then Authlib issues the code (a plain code request of a signed-in person with
nothing to do is answered without Authlib: app/oauth/authorize_direct.py).

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

``acr_values`` and the ``claims`` parameter (OIDC Core §3.1.2.1, §5.5): a request for MFA
steps up; an essential ``acr`` that cannot be met is ``unmet_authentication_requirements``;
a malformed ``claims`` is ``invalid_request`` (app/services/claims_request.py).

Pushed requests (RFC 9126 §4): with ``request_uri`` only the parameters the client pushed
to /oauth2/par count (app/services/pushed_requests.py); the browser's way through the
hosted pages then carries a resume handle, not the parameters. A client (or tenant) that
requires pushed requests gets ``invalid_request`` for any other. A signed request object
(``request``, RFC 9101; app/services/request_objects.py) replaces the query's parameters
and then travels like a pushed request (a resume handle), not as the JWT: its ``jti`` is
single use, and the hosted pages never see it. ``response_mode``:
``query`` (the default) or ``form_post`` (app/oauth/form_post.py), for success and error
responses alike.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import ValidationError
from flask_wtf.csrf import validate_csrf
from werkzeug.datastructures import MultiDict

from app.mfa.flow import step_up_url
from app.models.base import utcnow
from app.oauth import authorize_direct
from app.oauth import errors
from app.oauth import form_post
from app.oauth.organizations import session_organization
from app.oauth.organizations import user_organizations
from app.oauth.server import authorization
from app.services import audiences
from app.services import claims_request
from app.services import consent as consent_service
from app.services import issuance
from app.services import mfa
from app.services import pushed_requests
from app.services import registration
from app.services import request_objects
from app.services import tokens
from app.services.errors import ValidationFailed
from app.services.resource_config import resource_config
from app.tenancy import current_tenant
from app.tenancy import reading_tenant
from app.web.session import current_session
from app.web.session import sign_out

# Parameters the interaction itself adds to the form posts; never forwarded.
_OWN_FIELDS = {"csrf_token", "decision"}
SCOPE_TEXT = {  # lazy: rendered in the page's language (consent, /device)
    "openid": _l("Sign you in with your account"),
    "profile": _l("See your name"),
    "email": _l("See your email address"),
    "offline_access": _l("Stay signed in to the app"),
}


class ParamsView:
    """The Flask request as Authlib reads it, with other authorization parameters (the
    pushed ones): everything else (method, headers, form, client address) is the request's."""

    def __init__(self, raw, values: MultiDict):
        self._raw = raw
        self.values = values

    def __getattr__(self, name):
        return getattr(self._raw, name)


def _pairs(values: MultiDict) -> list[tuple[str, str]]:
    return list(values.items(multi=True))


class AuthorizationParams:
    """The authorization request's parameters: the query (or form), or — with
    ``request_uri`` — the pushed ones; and how a redirect or form comes back to them."""

    def __init__(self, tenant, values: MultiDict, *, client_id=None, resume=None):
        self.tenant = tenant
        self.values = values
        self.pushed = client_id is not None  # kept server-side while the person signs in
        self.by_par = self.pushed  # pushed to /oauth2/par (not a request object here)
        self.client_id = client_id
        self.resume = resume  # the resume handle this request came back with
        self.kept = _pairs(values)  # what that handle holds

    @classmethod
    def of_request(cls, tenant) -> AuthorizationParams:
        """Raises pushed_requests.InvalidRequestUri, request_objects.InvalidRequestObject,
        or ValueError without client_id."""
        request_uri = request.values.get("request_uri")
        if "request" in request.values:
            return cls._of_request_object(tenant, request_uri)
        if request_uri is None:
            values = MultiDict(
                [(k, v) for k, v in request.values.items(multi=True) if k not in _OWN_FIELDS]
            )
            return cls(tenant, values)
        client_id = request.values.get("client_id")
        if not client_id:
            raise ValueError("client_id is required with request_uri.")
        pairs, resume = pushed_requests.redeem(tenant, client_id, request_uri)
        params = cls(tenant, MultiDict(pairs), client_id=client_id, resume=resume)
        if resume and request.method == "POST" and request.form.get("organization"):
            # The organization picker's choice (checked like any organization= below).
            params.values["organization"] = request.form["organization"]
        return params

    @classmethod
    def _of_request_object(cls, tenant, request_uri) -> AuthorizationParams:
        """RFC 9101 §5: the signed request object's claims are the parameters."""
        if request_uri is not None:
            raise ValueError("request and request_uri cannot both be sent.")
        client_id = request.values.get("client_id")
        pairs = request_objects.unpack(tenant, client_id, request.values.get("request"))
        params = cls(tenant, MultiDict(pairs), client_id=client_id)
        params.by_par = False
        return params

    def get(self, name: str, default=None):
        return self.values.get(name, default)

    def getlist(self, name: str) -> list[str]:
        return self.values.getlist(name)

    def without(self, drop_prompts=(), drop=()) -> MultiDict:
        """The parameters minus some; repeated ones (``resource``) keep every value."""
        values = MultiDict([(k, v) for k, v in _pairs(self.values) if k not in set(drop)])
        if "prompt" in values and drop_prompts:
            kept = [p for p in values["prompt"].split() if p not in drop_prompts]
            values["prompt"] = " ".join(kept)
            if not kept:
                del values["prompt"]
        return values

    def carried(self, values: MultiDict) -> MultiDict:
        """What a redirect or a form carries to come back here with ``values``: those
        parameters, or for a pushed request ``client_id`` and a resume handle."""
        if not self.pushed:
            return values
        if self.resume is None or _pairs(values) != self.kept:
            pushed_requests.finish(self.tenant, self.resume)
            uri = pushed_requests.resume(self.tenant, self.client_id, _pairs(values))
            self.resume = uri[len(pushed_requests.URN_PREFIX) :]
            self.kept = _pairs(values)
        uri = pushed_requests.URN_PREFIX + self.resume
        return MultiDict([("client_id", self.client_id), ("request_uri", uri)])

    def url(self, drop_prompts=(), drop=()) -> str:
        """This endpoint, with the request (minus some parameters)."""
        query = _query(self.carried(self.without(drop_prompts, drop)))
        return f"{request.script_root}/oauth2/authorize?{query}"

    def finish(self) -> None:
        """The authorization response is being sent: a resume handle ends here."""
        if self.pushed:
            pushed_requests.finish(self.tenant, self.resume)
            self.resume = None


def _query(values: MultiDict) -> str:
    return urlencode(list(values.items(multi=True)))


def _to_login(params: AuthorizationParams, drop_prompts=(), drop=()):
    """Redirect to the hosted login page, coming back here afterwards."""
    query = {"next": params.url(drop_prompts, drop)}
    if params.get("login_hint"):
        query["login_hint"] = params.get("login_hint")
    return redirect(f"{request.script_root}/login?{urlencode(query)}", code=302)


def _max_age_exceeded(params: AuthorizationParams, session) -> bool:
    raw = params.get("max_age")
    if raw is None or raw == "":
        return False
    try:
        max_age = int(raw)
    except ValueError:
        return False
    return utcnow() - session.auth_time > timedelta(seconds=max(max_age, 0))


def requested_resources(tenant, values, grant):
    """The APIs asked for (RFC 8707 §2: this tenant's identifiers only), their config and
    the code's scope (their permissions asked in ``scope`` kept beside the client's
    scopes). Raises audiences.InvalidTarget or audiences.ScopeTooLong."""
    requested = values.getlist("resource")
    if not requested:
        return None, (), None
    config = resource_config(tenant)
    requested = audiences.resolve(config, requested)
    code_scope = audiences.with_permissions(
        grant.request.scope or "", grant.request.payload.scope, config, requested
    )
    return config, requested, code_scope


def handle():
    """GET or POST /oauth2/authorize."""
    if any("\x00" in value for _, value in request.values.items(multi=True)):
        # A NUL can't be stored (PostgreSQL text) nor trusted in a redirect.
        return errors.error_page("The authorization request is malformed.")
    # The snapshot while no row is made (the services here only read the tenant's
    # configuration and id); a page rendered on the way makes the row as usual.
    tenant = reading_tenant()
    # A plain code request of a signed-in person with nothing to do (the common case) is
    # answered without Authlib's machinery; None for every other request.
    response = authorize_direct.respond(tenant)
    if response is not None:
        return response
    try:
        params = AuthorizationParams.of_request(tenant)
    except pushed_requests.InvalidRequestUri as exc:
        return errors.error_page(str(exc), error="invalid_request_uri")
    except request_objects.InvalidRequestObject as exc:
        return errors.error_page(str(exc), error="invalid_request_object")
    except ValueError as exc:
        return errors.error_page(str(exc), error="invalid_request")
    session = current_session()
    user = g.get("session_user") if session is not None else None
    mode = form_post.mode_of(params.values)
    try:
        source = ParamsView(request._get_current_object(), params.values)
        grant = authorization.get_consent_grant(request=source, end_user=user)
    except OAuth2Error as error:
        params.finish()
        return errors.authorization_error(error, params.get("state"), mode or "query")
    except ValueError:
        # Authlib refuses to build an error whose description would echo a malformed
        # parameter (a backslash or quote in redirect_uri, RFC 6749 §5.2): the request
        # cannot be trusted enough to redirect, so the error page answers.
        return errors.error_page("The authorization request is malformed.")

    if not params.get("redirect_uri") and "openid" in (params.get("scope") or "").split():
        # OIDC Core §3.1.2.1: an OpenID request names its redirect_uri (plain OAuth may
        # omit it when one is registered, RFC 6749 §3.1.2.3); not redirected, §4.1.2.1.
        params.finish()
        return errors.error_page(
            "The request has no redirect_uri; an OpenID Connect request must name one.",
            error="invalid_request",
        )
    client = grant.request.client.row
    redirect_uri = grant.redirect_uri
    state = params.get("state")
    prompts = set((params.get("prompt") or "").split())

    def fail(error: str, description: str):
        params.finish()
        return errors.redirect_error(redirect_uri, error, description, state, mode or "query")

    if mode is None:
        return fail("invalid_request", "response_mode must be query or form_post.")
    if not params.by_par and pushed_requests.is_required(tenant, client):
        return fail(
            "invalid_request", "This client must push its authorization requests (/oauth2/par)."
        )
    if "none" in prompts and len(prompts) > 1:
        return fail("invalid_request", "prompt=none cannot be combined with other values.")
    # OIDC Core §5.5: the claims parameter, a JSON object (malformed → §3.1.2.6 error).
    try:
        claims = claims_request.parse(params.get("claims"))
    except claims_request.InvalidClaimsRequest as exc:
        return fail("invalid_request", str(exc))
    acr_request = claims_request.AcrRequest.of(params.get("acr_values"), claims)

    # 0. The APIs asked for (RFC 8707 §2): this tenant's identifiers only.
    try:
        config, requested, code_scope = requested_resources(tenant, params, grant)
    except audiences.InvalidTarget as exc:
        return fail("invalid_target", str(exc))
    except audiences.ScopeTooLong as exc:
        return fail("invalid_scope", str(exc))

    # 1. Who is signing in (OIDC Core §3.1.2.3).
    if user is None:
        if "none" in prompts:
            return fail("login_required", "The user is not signed in.")
        return _to_login(params)
    if "login" in prompts or _max_age_exceeded(params, session):
        if "none" in prompts:
            return fail("login_required", "The user must sign in again.")
        sign_out()
        return _to_login(params, drop_prompts=("login",), drop=("max_age",))
    # OIDC Core §5.5.1: a sub asked for with a value answers only for that user.
    wanted_sub = claims.subject() if claims is not None else None
    if wanted_sub is not None and wanted_sub != user.id:
        if "none" in prompts:
            return fail("login_required", "A different user is signed in.")
        sign_out()
        return _to_login(params)
    hint = params.get("id_token_hint")
    if hint:
        try:
            hinted = tokens.verify_id_token_hint(tenant, hint)
        except tokens.InvalidToken:
            return fail("invalid_request", "The id_token_hint is not valid here.")
        if hinted.get("sub") != user.id:
            if "none" in prompts:
                return fail("login_required", "A different user is signed in.")
            sign_out()
            return _to_login(params, drop=("id_token_hint",))

    # 1b. A second factor when the client asks for one (acr_values, OIDC Core §3.1.2.1, or
    # acr in claims, §5.5.1.1) or the tenant's policy requires one, and this session was
    # established without it.
    wanted = claims_request.MFA if acr_request.wants_mfa() else None
    if mfa.session_needs_step_up(tenant, user, session, wanted):
        if "none" in prompts:
            return fail("interaction_required", "A second factor is needed to continue.")
        return redirect(step_up_url(params.url()))
    # An essential acr (§5.5.1.1) this session does not meet, e.g. MFA off in the tenant.
    if acr_request.unmet(session.amr):
        return fail(
            "unmet_authentication_requirements",
            "The requested authentication context (acr) cannot be met.",
        )

    # 2. Which organization is active (DESIGN §4).
    org_id = params.get("organization")
    if org_id:
        try:
            issuance.check_organization(tenant, user, org_id)
        except ValidationFailed as exc:
            return fail("invalid_request", exc.errors["organization"])
    elif "select_organization" in prompts:
        orgs = user_organizations(tenant, user)
        if orgs and "none" not in prompts:
            fields = params.carried(params.without(drop_prompts=("select_organization",)))
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
    # Claims asked for with the claims parameter need the consent their scope would.
    asked_claims = None
    if claims is not None and "openid" in scope_value.split():
        asked_claims = claims.stored(client.scope)
        scope_value = claims_request.with_claim_scopes(scope_value, asked_claims)
    if "consent" in prompts or consent_service.needs_consent(
        tenant, user, client, scope_value, shown
    ):
        if "none" in prompts:
            return fail("consent_required", "The user has not consented to this client.")
        decision = request.form.get("decision") if request.method == "POST" else None
        if decision is None:
            fields = params.carried(params.without())
            return _consent_page(client, scope_value, fields, config, shown)
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
        "acr": acr_request.acr_for(session.amr),
        "claims_request": asked_claims,
    }
    params.finish()
    response = authorization.create_authorization_response(
        request=grant.request, grant_user=user, grant=grant
    )
    if mode == "form_post":
        return form_post.from_redirect(response, redirect_uri)
    return response


def _consent_page(client, scope_value: str, fields: MultiDict, config=None, shown=None):
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
        fields=fields,
        # A dynamically registered client's own logo and links (RFC 7591 §2), as it said.
        registered=registration.extras_of(current_tenant, client.id),
    )
