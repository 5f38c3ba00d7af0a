"""``/oauth2/device_authorization`` (for devices) and ``/device`` (for people)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_babel import gettext as _

from app.device import bp
from app.device.forms import DeviceCodeForm
from app.device.throttle import throttled
from app.extensions import csrf
from app.mfa.flow import step_up_redirect
from app.models import Client
from app.oauth.authorize import SCOPE_TEXT
from app.oauth.organizations import session_organization
from app.oauth.protocol import no_store
from app.oauth.server import authorization
from app.quotas import gate
from app.services import device_codes
from app.tenancy import current_config
from app.tenancy import current_tenant
from app.tenancy import scope
from app.web.session import current_session


@bp.route("/oauth2/device_authorization", methods=["POST"])
@csrf.exempt  # clients authenticate themselves, as at the token endpoint
def authorization_endpoint():
    """RFC 8628 §3.1: a device code and a user code for a client (app/oauth/device.py).
    Draws on the tenant's token_requests_per_second, like PAR and the token endpoint."""
    refused = gate.over_token_rate(current_config._get_current_object())
    if refused is not None:
        return refused
    return no_store(authorization.create_endpoint_response("device_authorization", request))


@bp.route("/device", methods=["GET", "POST"])
@throttled
def verify():
    """RFC 8628 §3.3: a signed-in person enters the user code, reviews, approves or denies."""
    raw = (request.values.get("user_code") or "").strip()
    here = url_for("device.verify", **({"user_code": raw} if raw else {}))
    session = current_session()
    if session is None:  # sign in first, then back here with the code
        return redirect(f"{url_for('auth.login')}?{urlencode({'next': here})}")
    user = g.session_user
    step_up = step_up_redirect(user, session, here)  # the tenant's MFA policy
    if step_up is not None:
        return step_up
    form = DeviceCodeForm()
    if request.method == "GET":
        form.user_code.data = raw
    if not raw:
        if request.method == "POST":
            form.validate()
        return _entry(form)
    tenant = current_tenant._get_current_object()
    row = device_codes.find_pending(tenant, raw)
    if row is None:
        form.user_code.errors = [
            _("This code is not valid. It may have expired or been used already.")
        ]
        return _entry(form)
    client = scope(tenant).get(Client, row.client_id)
    org_id = session_organization(tenant, user, session)
    decision = request.form.get("decision") if request.method == "POST" else None
    if decision not in ("approve", "deny"):
        return _review(row, client, user, org_id, raw)
    if decision == "approve":
        done = device_codes.approve(tenant, row, client, user, session, org_id)
    else:
        done = device_codes.decide(tenant, row, user, session, approve=False)
    if not done:
        form.user_code.errors = [_("This code can no longer be used. Start again on your device.")]
        return _entry(form)
    return render_template("device/done.html", approved=decision == "approve", client=client)


def _entry(form):
    return render_template("device/enter.html", form=form)


def _review(row, client, user, org_id, raw):
    tenant = current_tenant._get_current_object()
    shown = device_codes.terms(tenant, row, client, user, org_id)
    scopes = [(s, SCOPE_TEXT.get(s, s)) for s in shown.scope.split()]
    apis = []
    for identifier, names in (shown.shown or {}).items():
        entry = shown.config.resource(identifier)
        apis.append(
            {
                "name": entry.name,
                "identifier": identifier,
                "permissions": [(n, entry.descriptions.get(n, "")) for n in names],
            }
        )
    code = device_codes.normalize_user_code(raw)
    return render_template(
        "device/review.html",
        client=client,
        scopes=scopes,
        apis=apis,
        user_code=device_codes.display_user_code(code),
        user=user,
    )
