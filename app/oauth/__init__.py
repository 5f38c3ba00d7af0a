"""The OpenID Connect provider: discovery, JWKS, authorize, token, userinfo, ..."""

from flask import Blueprint

bp = Blueprint("oauth", __name__)


@bp.record_once
def _init_server(state) -> None:
    from app.oauth import cors
    from app.oauth import server

    server.init_app(state.app)
    cors.init_app(state.app)


from app.oauth import registration  # noqa: E402,F401
from app.oauth import routes  # noqa: E402,F401
