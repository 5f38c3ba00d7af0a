"""/login/code and /login/link/<token>: passwordless sign-in by email (#20).

Views only: the rules (expiry, attempts, lockout, no enumeration, same-browser check)
are in :mod:`app.services.passwordless`. The asking browser keeps the pending row's id
and a random value in its (signed) Flask session, keyed by tenant.
"""

from __future__ import annotations

from flask import render_template
from flask import request
from flask import session as flask_session
from flask_babel import gettext as _

from app.auth import bp
from app.auth import realm
from app.auth.flow import complete_sign_in
from app.auth.flow import requested_next
from app.auth.flow import safe_next
from app.auth.forms import ConfirmForm
from app.auth.forms import EmailCodeForm
from app.auth.forms import EmailCodeRequestForm
from app.auth.throttle import throttled
from app.mfa.flow import second_factor_redirect
from app.services import passwordless
from app.services.authn import AccountLocked
from app.services.errors import PermissionDenied
from app.tenancy import current_tenant


def _key() -> str:
    return f"login_code:{current_tenant.id}"


def _unavailable():
    message = _("This sign-in method is not available here.")
    return render_template("auth/method_unavailable.html", message=message), 403


def _finish(user, next_url: str | None):
    flask_session.pop(_key(), None)
    second_step = second_factor_redirect(user, passwordless.AMR, next_url)  # MFA policy
    if second_step is not None:
        return second_step
    return complete_sign_in(user, passwordless.AMR, next_url)


@bp.route("/login/code", methods=["GET", "POST"])
@throttled("LOGIN_RATE_LIMIT", "LOGIN_ACCOUNT_RATE_LIMIT")
def login_code():
    methods = passwordless.enabled_methods(current_tenant)
    if not methods:
        return _unavailable()
    if request.method == "POST" and "code" in request.form:
        return _enter_code()
    form = EmailCodeRequestForm()
    if not form.is_submitted():
        form.next.data = requested_next()
        form.email.data = request.args.get("login_hint", "")[:320] or None
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("auth/login_code.html", form=form, methods=methods), status
    method = form.method.data if form.method.data in methods else methods[0]
    next_url = safe_next(form.next.data) or ""
    connection = realm.enforced_for(current_tenant, form.email.data)
    if connection is not None:  # an organization that enforces its own IdP
        return realm.go(connection, next_url)
    row, browser = passwordless.start(current_tenant, form.email.data, method, next_url)
    flask_session[_key()] = {"id": row.id, "browser": browser}
    if method == passwordless.MAGIC_LINK:
        return render_template("auth/magic_link_sent.html", email=form.email.data)
    code_form = EmailCodeForm(formdata=None, email=form.email.data, next=next_url)
    return render_template("auth/login_code_enter.html", form=code_form)


def _enter_code():
    form = EmailCodeForm()
    if passwordless.EMAIL_CODE not in passwordless.enabled_methods(current_tenant):
        return _unavailable()
    if not form.validate_on_submit():
        return render_template("auth/login_code_enter.html", form=form), 422
    pending = flask_session.get(_key()) or {}
    try:
        user = passwordless.verify_code(current_tenant, pending.get("id"), form.code.data)
    except (passwordless.InvalidCode, AccountLocked) as exc:
        form.code.errors = [exc.message]
        return render_template("auth/login_code_enter.html", form=form), exc.status
    return _finish(user, form.next.data)


@bp.route("/login/link/<token>", methods=["GET", "POST"])
@throttled("LOGIN_RATE_LIMIT")
def magic_link(token: str):
    if passwordless.MAGIC_LINK not in passwordless.enabled_methods(current_tenant):
        return _unavailable()
    try:
        row, user = passwordless.find_link(current_tenant, token)
    except passwordless.InvalidLink as exc:
        return render_template("auth/link_invalid.html", message=exc.message), 400
    form = ConfirmForm()
    browser = (flask_session.get(_key()) or {}).get("browser")
    # Signs in at once only in the browser that asked; elsewhere only after a confirmation.
    if not passwordless.same_browser(row, browser) and not form.validate_on_submit():
        return render_template("auth/magic_link_confirm.html", form=form, email=user.email)
    try:
        user, next_url = passwordless.use_link(current_tenant, token)
    except (passwordless.InvalidLink, PermissionDenied) as exc:
        return render_template("auth/link_invalid.html", message=exc.message), 400
    except AccountLocked as exc:
        return render_template("auth/link_invalid.html", message=exc.message), exc.status
    return _finish(user, next_url)
