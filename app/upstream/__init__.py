"""Sign-in with upstream identity providers: /login/providers/<id> and its callback."""

from flask import Blueprint

bp = Blueprint("upstream", __name__)

from app.upstream import routes  # noqa: E402,F401
