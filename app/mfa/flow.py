"""Where the second factor plugs into sign-in, step-up and the authorize endpoint.

- The login view calls :func:`second_factor_redirect` right after a correct password;
  a response means "go there first" (no browser session is started), ``None`` means
  no second factor is needed and the view signs in as before.
- ``/oauth2/authorize`` calls :func:`step_up_redirect` for a signed-in user; a
  response sends the browser through the challenge and back to the same request.
- The mfa views call :func:`complete` once a factor has been verified: only then is
  ``app.web.session.sign_in`` called, with the combined ``amr``.
"""

from __future__ import annotations

from flask import Response
from flask import redirect
from flask import url_for

from app.auth.flow import complete_sign_in
from app.auth.flow import next_or_default
from app.mfa import pending
from app.models import BrowserSession
from app.models import User
from app.services import audit
from app.services import mfa
from app.tenancy import current_tenant


def second_factor_redirect(
    user: User, amr: list[str], next_url: str | None, *, has_factor: bool | None = None
) -> Response | None:
    """After the first factor: a redirect to the challenge (or to enrolment when MFA is
    required and the user has none), or None when the tenant's policy needs no second factor.
    ``has_factor``: see :func:`app.services.mfa.needs_second_factor`."""
    tenant = current_tenant
    if not mfa.needs_second_factor(tenant, user, has_factor=has_factor):
        return None
    pending.start(tenant, user, amr, next_url, purpose="sign_in")
    return redirect(url_for(_step_for(user)))


def step_up_redirect(
    user: User, session: BrowserSession | None, next_url: str, acr_values: str | None = None
) -> Response | None:
    """For an authorization request: a redirect through the second factor when the
    client asks for MFA (``acr_values``) or the policy requires it and the session has
    none; None when the session is good enough."""
    if not mfa.session_needs_step_up(current_tenant, user, session, acr_values):
        return None
    return redirect(url_for("mfa.step_up", next=next_url))


def step_up_url(next_url: str) -> str:
    """The URL that upgrades the current session with a second factor, then goes on."""
    return url_for("mfa.step_up", next=next_url)


def _step_for(user: User) -> str:
    return "mfa.enroll" if not mfa.user_factors(current_tenant, user) else "mfa.challenge"


def begin_step_up(user: User, session: BrowserSession, next_url: str | None) -> str:
    """Start a step-up from a live session; returns the endpoint to go to."""
    pending.start(current_tenant, user, list(session.amr or []), next_url, purpose="step_up")
    return _step_for(user)


def complete(state: pending.PendingSignIn, user: User, kind: str) -> str:
    """The second factor ``kind`` (totp, recovery, webauthn) was verified: start the
    browser session with the combined amr and return where to go next."""
    tenant = current_tenant
    factor_amr = mfa.AMR_FOR_KIND[kind]
    amr = [v for v in state.amr if v != factor_amr] + [factor_amr]
    if factor_amr in state.amr:  # e.g. an emailed code, then TOTP: both are "otp"
        amr.append("mfa")
    pending.drop(tenant)
    audit.record(
        tenant,
        "mfa.challenge_passed",
        target_type="user",
        target_id=user.id,
        method=kind,
        purpose=state.purpose,
    )
    return complete_sign_in(user, amr, state.next).location


def sign_in_passwordless(user: User, next_url: str | None) -> str:
    """A verified passkey with user verification signed in on its own (RFC 8176 amr)."""
    return complete_sign_in(user, list(mfa.PASSWORDLESS_AMR), next_url).location


def continue_url(next_url: str | None) -> str:
    """``next`` when it stays on this origin (with the /t/<slug> root), else /account."""
    return next_or_default(next_url)
