"""Dynamic client registration (RFC 7591/7592) over HTTP, as a registering app does it."""

from __future__ import annotations

from app.extensions import db
from app.models import Tenant
from tests.support.oauth import RegisteredClient

REDIRECT_URI = "https://app.example.com/callback"


def set_mode(app, tenant, mode: str) -> None:
    """The tenant's ``dynamic_registration`` (through the service, as the console does)."""
    from app.services.settings import update_settings

    with app.app_context():
        update_settings(db.session.get(Tenant, tenant.id), {"dynamic_registration": mode})
        db.session.commit()


def mint_initial_token(app, tenant, name: str = "onboarding", **options) -> str:
    from app.services import registration_tokens

    with app.app_context():
        # get, not merge: merging the test's stale copy would write its old settings back
        _row, token = registration_tokens.create_token(
            db.session.get(Tenant, tenant.id), name, **options
        )
        db.session.commit()
        return token


def metadata(**extra) -> dict:
    return {
        "client_name": "Registered App",
        "redirect_uris": [REDIRECT_URI],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile email offline_access",
        **extra,
    }


def register(tc, body=None, *, token: str | None = None, **extra):
    """POST /oauth2/register with ``body`` (default: :func:`metadata` with ``extra``)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return tc.post(
        "/oauth2/register", json=metadata(**extra) if body is None else body, headers=headers
    )


def manage(tc, method: str, client_id: str, token: str | None, body=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return tc.open(method, f"/oauth2/register/{client_id}", json=body, headers=headers)


def as_client(answer: dict) -> RegisteredClient:
    """A registration answer as the OAuth test helpers' client."""
    return RegisteredClient(
        answer["client_id"], answer.get("client_secret"), answer["redirect_uris"][0]
    )


def oauth_error(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == error, body
    assert response.headers["Cache-Control"] == "no-store"
    return body
