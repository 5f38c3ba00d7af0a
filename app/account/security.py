"""/account/security: the signed-in user's second factors and recovery codes."""

from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired

from app.account import bp
from app.auth.flow import signin_required
from app.mfa import throttle
from app.mfa.forms import RecoveryCodesForm
from app.services import mfa
from app.services import recovery_codes
from app.services.errors import ValidationFailed
from app.tenancy import current_tenant
from app.web.session import current_session


class RemoveFactorForm(FlaskForm):
    """Removing a factor asks for the current password again (re-authentication)."""

    password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(message=_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )


def _render(remove_form: RemoveFactorForm | None = None, failed_id: str | None = None, status=200):
    user = current_user._get_current_object()
    return render_template(
        "account/security.html",
        factors=mfa.user_factors(current_tenant, user, include_disallowed=True),
        allowed=mfa.allowed_factors(current_tenant),
        required=mfa.mfa_required(current_tenant, user),
        policy=mfa.policy(current_tenant),
        remaining=recovery_codes.remaining(current_tenant, user),
        session_has_mfa=mfa.session_satisfies_mfa(current_session()),
        remove_form=remove_form or RemoveFactorForm(),
        failed_id=failed_id,
        codes_form=RecoveryCodesForm(),
    ), status


@bp.route("/security")
@signin_required
def security():
    return _render()


@bp.post("/security/factors/<factor_id>/remove")
@signin_required
@throttle.per_user
def remove_factor(factor_id: str):
    form = RemoveFactorForm()
    if not form.validate_on_submit():
        return _render(form, factor_id, 400)
    try:
        mfa.remove_factor(
            current_tenant,
            current_user._get_current_object(),
            factor_id,
            password=form.password.data,
        )
    except ValidationFailed as exc:
        form.password.errors.append(exc.errors.get("password", exc.message))
        return _render(form, factor_id, 400)
    flash(_("The factor was removed."), "success")
    return redirect(url_for("account.security"))
