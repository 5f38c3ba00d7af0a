"""Your data (GDPR Art. 15/20: download it as JSON) and deleting your account (Art. 17,
after re-authentication: the password again, or a sign-in within the last minutes)."""

from __future__ import annotations

import json

from flask import Response
from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.account import bp
from app.account.forms import DeleteAccountForm
from app.auth.flow import signin_required
from app.auth.forms import apply_errors
from app.services.errors import ValidationFailed
from app.services.portability import account_data
from app.tenancy import current_tenant
from app.web.session import current_session
from app.web.session import sign_out


@bp.get("/data")
@signin_required
def download_data():
    data = account_data.user_data(current_tenant, current_user, audited=True)
    response = Response(json.dumps(data, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return response


def _render_delete(form: DeleteAccountForm, status: int = 200):
    session = current_session()
    return render_template(
        "account/delete.html",
        form=form,
        needs_password=current_user.password_hash is not None,
        recent=account_data.recently_signed_in(session.auth_time if session else None),
        reauth_minutes=account_data.REAUTH_MINUTES,
    ), status


@bp.get("/delete")
@signin_required
def delete_account():
    return _render_delete(DeleteAccountForm(formdata=None))


@bp.post("/delete")
@signin_required
def delete_account_submit():
    form = DeleteAccountForm()
    if not form.validate_on_submit():
        return _render_delete(form, 422)
    session = current_session()
    try:
        account_data.confirm_erasure(
            current_user, form.password.data or "", session.auth_time if session else None
        )
    except ValidationFailed as exc:
        apply_errors(form, exc.errors)
        return _render_delete(form, 422)
    user = current_user._get_current_object()
    sign_out()
    account_data.erase_user(current_tenant, user)
    flash(_("Your account and your personal data were deleted."), "success")
    return redirect(url_for("auth.login"))
