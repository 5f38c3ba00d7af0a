"""Accepting invitations to a tenant (and optionally an organization)."""

from flask import Blueprint

bp = Blueprint("invitations", __name__, url_prefix="/invitations")

from app.invitations import routes  # noqa: E402,F401
