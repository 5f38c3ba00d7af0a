"""The acceptance page ``/invitations/<token>``: who invites you to what, then accept.

Three cases: a new person (a name + password form that creates the account in this
tenant and signs them in), the invited person signed in (a button that adds the roles
and membership), someone else signed in (a message and a sign-out button). Unknown,
foreign, used, revoked and expired links get an error page and change nothing.
"""

from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BuildError

from app.extensions import db
from app.invitations import bp
from app.invitations.forms import AcceptInvitationForm
from app.invitations.forms import ConfirmForm
from app.mfa.flow import second_factor_redirect
from app.services import invitations as invitations_service
from app.services import users as users_service
from app.services.errors import Conflict
from app.services.errors import ValidationFailed
from app.services.settings import display_name
from app.tenancy import current_tenant
from app.web.session import sign_in
from app.web.session import sign_out


def _load(token: str):
    """(invitation, error response); the error page says why the link is unusable."""
    invitation = invitations_service.find_by_token(current_tenant, token)
    if invitation is None:
        return None, _error(
            404, _("Invitation not found"), _("This invitation link is not valid here.")
        )
    status = invitations_service.status_of(invitation)
    if status != "pending":
        exc = invitations_service.InvitationUnusable(status)
        return None, _error(410, _(exc.title), exc.message)
    return invitation, None


def _error(status: int, title: str, description: str):
    page = render_template("invitations/invalid.html", title=title, description=description)
    return page, status


def _login_url(token: str) -> str:
    next_path = url_for("invitations.accept", token=token)
    try:
        return url_for("auth.login", next=next_path)
    except BuildError:  # the hosted login page is not registered (e.g. a trimmed app)
        return url_for("pages.home")


def _page(token, invitation, form=None, status=200):
    existing = None
    if not current_user.is_authenticated:
        existing = users_service.find_by_email(current_tenant, invitation.email)
    context = {
        "token": token,
        "invitation": invitation,
        "org": invitations_service.organization_of(current_tenant, invitation),
        "tenant_name": display_name(current_tenant),
        "form": form or AcceptInvitationForm(),
        "confirm": ConfirmForm(),
        "existing_account": existing is not None,
        "login_url": _login_url(token),
        "is_invitee": current_user.is_authenticated and current_user.email == invitation.email,
    }
    return render_template("invitations/accept.html", **context), status


@bp.get("/<token>")
def accept(token: str):
    invitation, error = _load(token)
    return error or _page(token, invitation)


@bp.post("/<token>")
def accept_submit(token: str):
    invitation, error = _load(token)
    if error:
        return error
    if current_user.is_authenticated:
        if not ConfirmForm().validate_on_submit():
            return _page(token, invitation, status=400)
        invitations_service.accept_invitation(current_tenant, token, user=current_user)
        message = _(
            "Welcome to %(name)s: the invitation is accepted.", name=display_name(current_tenant)
        )
        flash(message, "success")
        return redirect(_landing(invitation))
    form = AcceptInvitationForm()
    if not form.validate_on_submit():
        return _page(token, invitation, form, status=400)
    try:
        user = invitations_service.accept_invitation(
            current_tenant, token, name=form.name.data or "", password=form.password.data
        )
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        for field, message in exc.errors.items():
            if field in form:
                form[field].errors.append(message)
            else:
                flash(message, "error")
        return _page(token, invitation, form, status=400)
    second_step = second_factor_redirect(user, ["pwd"], _landing(invitation))  # MFA policy
    if second_step is not None:
        return second_step
    sign_in(user, amr=["pwd"])
    flash(
        _("Welcome to %(name)s: your account is ready.", name=display_name(current_tenant)),
        "success",
    )
    return redirect(_landing(invitation))


@bp.post("/<token>/sign-out")
def sign_out_to_accept(token: str):
    """Someone else is signed in: sign them out and come back to the invitation."""
    if ConfirmForm().validate_on_submit():
        sign_out()
    return redirect(url_for("invitations.accept", token=token))


def _landing(invitation) -> str:
    if invitation.org_id:
        return url_for("account.organizations")
    try:
        return url_for("account.index")
    except BuildError:
        return url_for("account.organizations")
