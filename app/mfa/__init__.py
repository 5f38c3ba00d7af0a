"""Second factors: the challenge during sign-in and enrolment (TOTP, passkeys, recovery codes)."""

from flask import Blueprint

bp = Blueprint("mfa", __name__, url_prefix="/mfa")

from app.mfa import routes  # noqa: E402,F401
from app.mfa import webauthn  # noqa: E402,F401
