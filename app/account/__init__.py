"""The signed-in user's self-service pages under /account."""

from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from app.account import data  # noqa: E402,F401
from app.account import identities  # noqa: E402,F401
from app.account import organizations  # noqa: E402,F401
from app.account import routes  # noqa: E402,F401
from app.account import security  # noqa: E402,F401
