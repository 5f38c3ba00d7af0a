"""SCIM 2.0 (RFC 7643/7644) at /scim/v2 on each tenant origin, per organization token."""

from flask import Blueprint

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")

from app.scim import routes  # noqa: E402,F401
