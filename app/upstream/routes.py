"""/login/providers/<id>: sign in (or link) with an upstream identity provider.

The start sends the browser to the provider with state, nonce and PKCE; the callback
checks the state, lets :mod:`app.upstream.client` exchange the code and validate the ID
token, and hands the profile to the rules in :mod:`app.services.upstream`.
"""

from __future__ import annotations

from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.flow import complete_sign_in
from app.auth.flow import next_or_default
from app.auth.flow import requested_next
from app.mfa.flow import second_factor_redirect
from app.services import providers as providers_service
from app.services import upstream
from app.services.settings import get_settings
from app.tenancy import current_tenant
from app.upstream import bp
from app.upstream import client
from app.upstream import pending
from app.web.session import current_session

AMR = ["fed"]  # federated sign-in (the value Microsoft and others use in ``amr``)


def refused(message: str, status: int = 403):
    return render_template("upstream/refused.html", message=message), status


def begin(
    provider, *, mode: str, next_url: str | None, user_id=None, redirect_uri=None, refuse=None
):
    """Redirect to the provider's authorization endpoint (a new state, nonce, verifier).

    Upstream providers and organization OIDC connections (:mod:`app.sso.oidc`) share this
    start; a connection passes its own callback ``redirect_uri`` and ``refuse`` recorder.
    """
    flow = pending.start_flow(
        current_tenant, provider, mode=mode, next_url=next_url, user_id=user_id
    )
    try:
        url = client.authorization_url(
            provider,
            redirect_uri or providers_service.redirect_uri(current_tenant, provider),
            state=flow["state"],
            nonce=flow["nonce"],
            verifier=flow["verifier"],
        )
    except client.UpstreamError as exc:
        if refuse is not None:
            return refuse(exc)
        error = upstream.refuse(current_tenant, provider, exc.reason, exc.message)
        return refused(error.message, 502)
    return redirect(url)


@bp.get("/login/providers/<provider_id>")
def start(provider_id: str):
    provider = providers_service.get_provider(current_tenant, provider_id)  # NotFound -> 404
    if "upstream" not in get_settings(current_tenant)["login_methods"]:
        return refused(_("This sign-in method is not available here."))
    return begin(provider, mode="signin", next_url=requested_next())


@bp.get("/login/providers/<provider_id>/callback")
def callback(provider_id: str):
    tenant = current_tenant
    provider = providers_service.get_provider(tenant, provider_id)
    flow = pending.take_flow(tenant, provider, request.args.get("state"))
    if flow is None:  # RFC 6749 §10.12: a response we did not ask for in this browser
        error = upstream.refuse(
            tenant,
            provider,
            "state_mismatch",
            "This sign-in was not started here or has expired. Please try again.",
        )
        return refused(error.message, 400)
    if request.args.get("error") or not request.args.get("code"):
        code = (request.args.get("error") or "no_code")[:64]
        error = upstream.refuse(
            tenant, provider, "provider_error", f"{provider.name} did not sign you in.", error=code
        )
        return refused(error.message, 400)
    try:
        profile = client.fetch_profile(
            provider,
            providers_service.redirect_uri(tenant, provider),
            code=request.args["code"],
            nonce=flow["nonce"],
            verifier=flow["verifier"],
        )
    except client.UpstreamError as exc:
        error = upstream.refuse(tenant, provider, exc.reason, exc.message)
        return refused(error.message, 400)
    if flow["mode"] == "link":
        return _link_signed_in_user(provider, profile, flow)
    return _sign_in(provider, profile, flow["next"] or None)


def _sign_in(provider, profile, next_url):
    try:
        user = upstream.sign_in_with(current_tenant, provider, profile)
    except upstream.LinkRequired as exc:
        pending.hold_link(current_tenant, provider, exc.user.id, profile, next_url or "")
        flash(exc.message, "info")
        return redirect(url_for("auth.login", next=url_for("upstream.finish_link"), prompt="login"))
    except upstream.Refused as exc:
        return refused(exc.message)
    second_step = second_factor_redirect(user, AMR, next_url)
    if second_step is not None:
        return second_step
    return complete_sign_in(user, AMR, next_url)


def _link_signed_in_user(provider, profile, flow):
    if not current_user.is_authenticated or current_user.id != flow.get("user_id"):
        error = upstream.refuse(
            current_tenant, provider, "not_signed_in", _("Sign in to link another identity.")
        )
        return refused(error.message)
    try:
        upstream.link_identity(
            current_tenant, provider, current_user._get_current_object(), profile
        )
    except upstream.Refused as exc:
        return refused(exc.message)
    flash(_("%(provider)s is linked to your account.", provider=provider.name), "success")
    return redirect(next_or_default(flow["next"]))


@bp.get("/login/providers/link")
def finish_link():
    """After proving ownership by signing in: link the held identity, then go on."""
    tenant = current_tenant
    link = pending.held_link(tenant)
    if link is None:
        return redirect(url_for("auth.login"))
    provider = providers_service.get_provider(tenant, link["provider_id"])
    session = current_session()
    fresh = session is not None and session.auth_time.timestamp() >= link["at"]
    if not current_user.is_authenticated or current_user.id != link["user_id"] or not fresh:
        pending.drop_link()
        error = upstream.refuse(
            tenant,
            provider,
            "link_not_proven",
            _("To link this identity, sign in to the account with the same email address."),
        )
        return refused(error.message)
    pending.drop_link()
    try:
        upstream.link_identity(
            tenant, provider, current_user._get_current_object(), pending.link_profile(link)
        )
    except upstream.Refused as exc:
        return refused(exc.message)
    message = _(
        "%(provider)s is linked to your account. Next time it signs you in.",
        provider=provider.name,
    )
    flash(message, "success")
    return redirect(next_or_default(link.get("next")))


@bp.app_context_processor
def _upstream_context():
    def upstream_providers():
        tenant = g.get("tenant")
        return providers_service.sign_in_buttons(tenant) if tenant is not None else ()

    return {"upstream_providers": upstream_providers}
