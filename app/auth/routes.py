"""Hosted pages of the auth blueprint. Views stay thin: validate, call a service, answer."""

from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import session as flask_session
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.form import SUBMIT_METHODS

from app.auth import bp
from app.auth import realm
from app.auth.flow import complete_sign_in
from app.auth.flow import next_or_default
from app.auth.flow import requested_next
from app.auth.forms import ConfirmForm
from app.auth.forms import ForgotPasswordForm
from app.auth.forms import LoginForm
from app.auth.forms import ResetPasswordForm
from app.auth.forms import SignupForm
from app.auth.forms import apply_errors
from app.auth.throttle import throttled
from app.mfa.flow import second_factor_redirect
from app.models import User
from app.services import audit
from app.services import authn
from app.services import credentials
from app.services import email_tokens
from app.services.errors import ServiceError
from app.services.errors import ValidationFailed
from app.services.settings import get_settings
from app.services.settings import read_settings
from app.tenancy import current_tenant
from app.tenancy import reading_tenant
from app.tenancy import scope
from app.web.page_cache import blank_form_page
from app.web.session import current_session
from app.web.session import sign_out

# Flask-session key naming the user who proved their password but is unverified.
PENDING_VERIFY = "pending_verify"


@bp.route("/login", methods=["GET", "POST"])
@throttled("LOGIN_RATE_LIMIT", "LOGIN_ACCOUNT_RATE_LIMIT")
def login():
    identifier_first = realm.is_identifier_first(reading_tenant())
    if request.method not in SUBMIT_METHODS:
        return _login_page(identifier_first)
    form = LoginForm()
    if identifier_first and "password" not in request.form:
        return _identifier_step(form)
    if not password_allowed():  # login_methods: the password is off in this tenant
        return _password_off(), 403
    if identifier_first and realm.enforced_for(current_tenant, form.email.data):
        connection = realm.enforced_for(current_tenant, form.email.data)
        return realm.go(connection, form.next.data)  # passwords are off for this address
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 422
    try:
        checked = authn.check_password(current_tenant, form.email.data, form.password.data)
    except authn.EmailNotVerified as exc:
        flask_session[PENDING_VERIFY] = [current_tenant.id, exc.user.id]
        return render_template("auth/login.html", form=form, unverified=exc.message), 403
    except (authn.InvalidCredentials, authn.AccountLocked) as exc:
        return render_template("auth/login.html", form=form, form_error=exc.message), exc.status
    user = checked.user
    second_step = second_factor_redirect(  # MFA (app.mfa.flow)
        user, ["pwd"], form.next.data, has_factor=checked.has_factor
    )
    if second_step is not None:
        return second_step
    return complete_sign_in(user, ["pwd"], form.next.data)


def _login_page(identifier_first: bool):
    """GET /login: the blank password form, prepared once per tenant snapshot
    (page_cache.blank_form_page builds the form only when it renders the page)."""
    next_value = requested_next()

    def make_form():
        form = LoginForm()
        form.next.data = next_value
        return form

    # Signed in already: go on, unless a fresh sign-in is asked for (OIDC prompt=login).
    if current_user.is_authenticated and request.args.get("prompt") != "login":
        make_form()  # a CSRF token in the cookie session, as the page would have made
        return redirect(next_or_default(next_value))
    if identifier_first:
        return _identifier_page(make_form())
    if not password_allowed():  # login_methods: the password is off in this tenant
        return render_template("auth/login.html", form=make_form())
    return blank_form_page("auth/login.html", make_form, next_value)


def password_allowed() -> bool:
    return "password" in read_settings(reading_tenant())["login_methods"]


def _password_off():
    return render_template(
        "auth/method_unavailable.html", message=_("This sign-in method is not available here.")
    )


def _identifier_page(form):
    """GET /login in a tenant with connections: the email first (or straight to the
    connection named by ``organization`` / ``login_hint``)."""
    hint = request.args.get("login_hint", "")[:320]
    connection = realm.for_request(current_tenant, hint, form.next.data)
    if connection is not None:
        return realm.go(connection, form.next.data)
    form.email.data = form.email.data or hint or None
    return render_template("auth/login_identifier.html", form=form)


def _identifier_step(form):
    """POST of the email alone: to the organization's IdP, or on to the password."""
    form.password.validators = []
    if not form.validate_on_submit():
        return render_template("auth/login_identifier.html", form=form), 422
    connection = realm.for_email(current_tenant, form.email.data)
    if connection is not None:
        return realm.go(connection, form.next.data)
    return render_template("auth/login.html", form=form)


@bp.route("/signup", methods=["GET", "POST"])
@throttled("SIGNUP_RATE_LIMIT")
def signup():
    refusal = authn.signup_refusal(current_tenant)
    if refusal:
        return render_template("auth/signup_closed.html", message=refusal), 403
    form = SignupForm()
    if not form.is_submitted():
        form.next.data = requested_next()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("auth/signup.html", form=form), status
    try:
        user = authn.sign_up(current_tenant, form.email.data, form.password.data, form.name.data)
    except ValidationFailed as exc:
        form_error = apply_errors(form, exc.errors)
        return render_template("auth/signup.html", form=form, form_error=form_error), 422
    if user is None or (not user.email_verified and _verification_required()):
        return render_template("auth/verify_sent.html", email=form.email.data)
    second_step = second_factor_redirect(user, ["pwd"], form.next.data)  # MFA enrolment
    if second_step is not None:
        return second_step
    return complete_sign_in(user, ["pwd"], form.next.data)


def _verification_required() -> bool:
    return get_settings(current_tenant)["require_email_verification"]


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("auth/logout.html", form=form)
    ended = sign_out()
    if ended is not None:
        audit.record(
            current_tenant,
            "logout",
            target_type="user",
            target_id=ended.user_id,
            session_id=ended.id,
        )
    flash(_("You are signed out."), "success")
    return redirect(url_for("auth.login"))


@bp.get("/email/verify/<token>")
def verify_email(token: str):
    try:
        authn.verify_email(current_tenant, token)
    except email_tokens.InvalidToken as exc:
        return render_template("auth/link_invalid.html", message=exc.message), 400
    flask_session.pop(PENDING_VERIFY, None)
    flash(_("Your email address is confirmed."), "success")
    if current_user.is_authenticated:
        return redirect(url_for("account.index"))
    return redirect(url_for("auth.login"))


@bp.post("/email/verify/resend")
@throttled("PASSWORD_RESET_RATE_LIMIT")
def resend_verification():
    form = ConfirmForm()
    pending = flask_session.get(PENDING_VERIFY)
    if form.validate_on_submit() and pending and pending[0] == current_tenant.id:
        user = scope(current_tenant).get(User, pending[1])
        if user is not None and user.is_active and not user.email_verified:
            email_tokens.send_verification(current_tenant, user)
            return render_template("auth/verify_sent.html", email=user.email)
    flash(_("Sign in again to get a new confirmation link."), "error")
    return redirect(url_for("auth.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@throttled("PASSWORD_RESET_RATE_LIMIT", "PASSWORD_RESET_ACCOUNT_RATE_LIMIT")
def forgot_password():
    if not password_allowed():
        return _password_off(), 403
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("auth/forgot.html", form=form), status
    authn.request_password_reset(current_tenant, form.email.data)
    return render_template("auth/forgot_sent.html")


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@throttled("PASSWORD_RESET_RATE_LIMIT")
def reset_password(token: str):
    if not password_allowed():
        return _password_off(), 403
    try:
        user = email_tokens.check_token(current_tenant, token, email_tokens.RESET)
    except email_tokens.InvalidToken as exc:
        return render_template("auth/link_invalid.html", message=exc.message, reset=True), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        session = current_session()
        try:
            credentials.reset_password(
                current_tenant,
                token,
                form.password.data,
                keep_session_id=session.id if session is not None else None,
            )
        except ValidationFailed as exc:
            form_error = apply_errors(form, exc.errors)
            return render_template(
                "auth/reset.html", form=form, email=user.email, form_error=form_error
            ), 422
        except ServiceError as exc:
            return render_template("auth/link_invalid.html", message=exc.message, reset=True), 400
        if current_user.is_authenticated and current_user.id == user.id:
            flash(_("Your password is changed. Your other sessions are signed out."), "success")
            return redirect(url_for("account.index"))
        flash(_("Your password is changed. Sign in with the new one."), "success")
        return redirect(url_for("auth.login"))
    status = 422 if form.is_submitted() else 200
    return render_template("auth/reset.html", form=form, email=user.email), status
