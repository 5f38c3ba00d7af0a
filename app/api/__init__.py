"""The admin REST API under /v2/admin (JSON; errors are RFC 9457 problem+json)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/v2/admin")

from app.api import routes  # noqa: E402,F401
