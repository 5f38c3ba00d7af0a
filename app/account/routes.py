"""The signed-in user's self-service pages: profile, password, sessions."""

from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app.account import bp
from app.account.forms import ChangePasswordForm
from app.account.forms import ProfileForm
from app.auth.flow import signin_required
from app.auth.forms import ConfirmForm
from app.auth.forms import apply_errors
from app.services import consent as consent_service
from app.services import credentials
from app.services import profile
from app.services.errors import ValidationFailed
from app.tenancy import current_tenant
from app.web.session import current_session
from app.web.session import sign_out


def _render(status: int = 200, **forms):
    forms.setdefault("profile_form", ProfileForm(name=current_user.name))
    forms.setdefault("password_form", ChangePasswordForm(formdata=None))
    session = current_session()
    return render_template(
        "account/index.html",
        sessions=profile.own_sessions(current_tenant, current_user),
        current_session_id=session.id if session is not None else None,
        end_form=ConfirmForm(formdata=None),
        consents=consent_service.list_consents(current_tenant, current_user),
        **forms,
    ), status


@bp.get("")
@bp.get("/")
@signin_required
def index():
    return _render()


@bp.post("/profile")
@signin_required
def update_profile():
    form = ProfileForm()
    if not form.validate_on_submit():
        return _render(422, profile_form=form)
    try:
        profile.update_profile(current_tenant, current_user, name=form.name.data)
    except ValidationFailed as exc:
        apply_errors(form, exc.errors)
        return _render(422, profile_form=form)
    flash(_("Profile saved."), "success")
    return redirect(url_for("account.index"))


@bp.post("/password")
@signin_required
def change_password():
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _render(422, password_form=form)
    try:
        ended = credentials.change_password(
            current_tenant,
            current_user,
            form.password.data,
            form.new_password.data,
            keep_session_id=current_session().id,
        )
    except ValidationFailed as exc:
        apply_errors(form, exc.errors)
        return _render(422, password_form=form)
    if ended:
        message = ngettext(
            "Password changed. %(num)d other session signed out.",
            "Password changed. %(num)d other sessions signed out.",
            ended,
        )
    else:
        message = _("Password changed.")
    flash(message, "success")
    return redirect(url_for("account.index"))


@bp.post("/sessions/<session_id>/end")
@signin_required
def end_session(session_id: str):
    form = ConfirmForm()
    if not form.validate_on_submit():
        return redirect(url_for("account.index"))
    ended = profile.end_own_session(current_tenant, current_user, session_id)
    if ended.id == current_session().id:
        sign_out()
        flash(_("You are signed out."), "success")
        return redirect(url_for("auth.login"))
    flash(_("Session ended."), "success")
    return redirect(url_for("account.index"))
