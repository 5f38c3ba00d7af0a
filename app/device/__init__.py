"""RFC 8628: the device authorization endpoint and the hosted ``/device`` page where a
signed-in person enters a user code and approves or denies the device."""

from flask import Blueprint

bp = Blueprint("device", __name__)


@bp.record_once
def _init_grant(state) -> None:
    from app.oauth import device

    device.init_app(state.app)


from app.device import routes  # noqa: E402,F401
