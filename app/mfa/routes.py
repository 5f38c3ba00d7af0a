"""Second-factor pages: the challenge after the password, TOTP enrolment, recovery
codes and step-up. The passkey ceremonies are JSON endpoints in app.mfa.webauthn."""

from __future__ import annotations

from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import session
from flask import url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from app.auth.flow import signin_required
from app.mfa import bp
from app.mfa import flow
from app.mfa import pending
from app.mfa import throttle
from app.mfa.forms import ChallengeForm
from app.mfa.forms import EnrollForm
from app.mfa.forms import RecoveryCodesForm
from app.services import mfa
from app.services import recovery_codes
from app.services import totp
from app.services.errors import ValidationFailed
from app.tenancy import current_tenant
from app.web.session import current_session


def _restart(message: str):
    pending.drop(current_tenant)
    flash(message, "error")
    return redirect(url_for("auth.login"))


def _too_many_failures(state: pending.PendingSignIn, user) -> bool:
    return mfa.failures_since(current_tenant, user, state.started_at) >= mfa.MAX_FAILURES


@bp.route("/challenge", methods=["GET", "POST"])
@throttle.per_user
@throttle.per_ip
def challenge():
    """Ask for the second factor of a pending sign-in (or step-up)."""
    loaded = pending.load(current_tenant)
    if loaded is None:
        return _restart(_("Your sign-in expired. Please sign in again."))
    state, user = loaded
    if _too_many_failures(state, user):
        return _restart(_("Too many wrong codes. Please sign in again."))
    factors = mfa.user_factors(current_tenant, user)
    if not factors:
        return redirect(url_for("mfa.enroll"))
    form = ChallengeForm()
    status = 200
    if form.validate_on_submit():
        kind = mfa.verify_code(current_tenant, user, form.code.data)
        if kind is not None:
            if kind == "recovery":
                left = recovery_codes.remaining(current_tenant, user)
                flash(
                    ngettext(
                        "You used a recovery code; %(num)d left.",
                        "You used a recovery code; %(num)d left.",
                        left,
                    ),
                    "success",
                )
            return redirect(flow.complete(state, user, kind))
        if _too_many_failures(state, user):
            return _restart(_("Too many wrong codes. Please sign in again."))
        form.code.errors.append(_("That code is not right. Try again."))
        status = 400
    elif request.method == "POST":
        status = 400
    kinds = {f.kind for f in factors}
    return render_template("mfa/challenge.html", form=form, kinds=kinds, user=user), status


def enrolling_subject():
    """``(pending state or None, user)`` for whoever may enrol now, else None.

    During a pending sign-in a user may only enrol their first factor: with only a
    password nobody can add a factor next to an existing one.
    """
    loaded = pending.load(current_tenant)
    if loaded is not None and not mfa.user_factors(current_tenant, loaded[1]):
        return loaded
    if current_user.is_authenticated:
        return None, current_user
    return None


def _after_enrolment(state, user, kind: str):
    """Finish an enrolment: sign in when it was part of sign-in, show recovery codes once."""
    target = flow.complete(state, user, kind) if state else url_for("account.security")
    if recovery_codes.remaining(current_tenant, user) == 0:
        codes = recovery_codes.generate(current_tenant, user)
        return render_template("mfa/recovery_codes.html", codes=codes, continue_url=target)
    flash(_("Two-step verification is on."), "success")
    return redirect(target)


@bp.route("/enroll", methods=["GET", "POST"])
def enroll():
    """Enrol an authenticator app (QR code + secret) or, from the page, a passkey."""
    subject = enrolling_subject()
    if subject is None:
        if pending.load(current_tenant) is not None:
            return redirect(url_for("mfa.challenge"))
        return redirect(url_for("auth.login"))
    state, user = subject
    allowed = mfa.allowed_factors(current_tenant)
    key = f"mfa_enroll:{current_tenant.id}"
    factor = None
    if "totp" in allowed:
        factor = totp.pending_enrolment(current_tenant, user, session.get(key))
        if factor is None:
            factor = totp.begin_enrolment(current_tenant, user)
            session[key] = factor.id
    form = EnrollForm()
    status = 200
    if factor is not None and form.validate_on_submit():
        try:
            totp.confirm_enrolment(current_tenant, user, factor.id, form.code.data)
        except ValidationFailed as exc:
            form.code.errors.append(exc.errors.get("code", exc.message))
            status = 400
        else:
            session.pop(key, None)
            return _after_enrolment(state, user, "totp")
    elif request.method == "POST":
        status = 400
    uri = totp.provisioning_uri(current_tenant, user, factor) if factor else ""
    return render_template(
        "mfa/enroll.html",
        form=form,
        allowed=allowed,
        qr_svg=totp.qr_svg(uri) if uri else "",
        secret=totp.secret_of(factor) if factor else "",
        signing_in=state is not None,
    ), status


@bp.route("/recovery-codes", methods=["GET", "POST"])
@signin_required
def recovery_codes_page():
    """Generate (or replace) recovery codes; the new set is shown once, in the answer."""
    target = (
        flow.continue_url(request.values.get("next"))
        if request.values.get("next")
        else (url_for("account.security"))
    )
    if not mfa.user_factors(current_tenant, current_user):
        flash(_("Set up a second factor first."), "error")
        return redirect(url_for("account.security"))
    form = RecoveryCodesForm()
    if form.validate_on_submit():
        codes = recovery_codes.generate(current_tenant, current_user)
        return render_template("mfa/recovery_codes.html", codes=codes, continue_url=target)
    left = recovery_codes.remaining(current_tenant, current_user)
    return render_template(
        "mfa/recovery_codes_intro.html", form=form, remaining=left, continue_url=target
    )


@bp.route("/step-up")
@signin_required
def step_up():
    """Upgrade the current session with a second factor, then continue to ``next``."""
    target = request.args.get("next")
    session_row = current_session()
    if mfa.session_satisfies_mfa(session_row) or not mfa.allowed_factors(current_tenant):
        return redirect(flow.continue_url(target))
    return redirect(url_for(flow.begin_step_up(current_user, session_row, target)))


@bp.app_context_processor
def _mfa_template_globals():
    def passkey_sign_in_available() -> bool:
        tenant = g.get("tenant")
        return tenant is not None and mfa.passwordless_enabled(tenant)

    return {"passkey_sign_in_available": passkey_sign_in_available}
