"""Hosted login pages: sign-up, sign-in, sign-out, verification, password reset."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.auth import nav  # noqa: E402,F401
from app.auth import passwordless  # noqa: E402,F401
from app.auth import routes  # noqa: E402,F401
