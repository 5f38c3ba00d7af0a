"""/account/identities: the upstream identities linked to the signed-in user's account;
link another (the provider flow in "link" mode), unlink while another way in remains."""

from __future__ import annotations

from flask import flash
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.account import bp
from app.auth.flow import signin_required
from app.auth.forms import ConfirmForm
from app.services import providers as providers_service
from app.services import upstream
from app.services.errors import PermissionDenied
from app.tenancy import current_tenant
from app.upstream.routes import begin


def _render(status: int = 200, error: str | None = None):
    user = current_user._get_current_object()
    linked = upstream.identities_of(current_tenant, user)
    return render_template(
        "account/identities.html",
        linked=[(i, p, upstream.can_unlink(current_tenant, user, i)) for i, p in linked],
        providers=providers_service.list_providers(current_tenant),
        form=ConfirmForm(formdata=None),
        error=error,
    ), status


@bp.get("/identities")
@signin_required
def identities():
    return _render()


@bp.post("/identities/link/<provider_id>")
@signin_required
def link_identity(provider_id: str):
    provider = providers_service.get_provider(current_tenant, provider_id)
    if not ConfirmForm().validate_on_submit():
        return _render(400, _("The form expired. Please try again."))
    return begin(
        provider,
        mode="link",
        next_url=url_for("account.identities"),
        user_id=current_user.id,
    )


@bp.post("/identities/<identity_id>/unlink")
@signin_required
def unlink_identity(identity_id: str):
    if not ConfirmForm().validate_on_submit():
        return _render(400, _("The form expired. Please try again."))
    try:
        upstream.unlink_identity(current_tenant, current_user._get_current_object(), identity_id)
    except PermissionDenied as exc:
        return _render(403, exc.message)
    flash(_("The identity is unlinked."), "success")
    return redirect(url_for("account.identities"))
