"""The ``admin`` scope makes an instance credential only for a confidential system-tenant
machine client (client_credentials): a system-tenant *member* signing in through a client
that lists ``admin`` must never reach the admin API (issue #14, HIGH)."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Client
from tests.conftest import DEFAULT_PASSWORD
from tests.support.accounts import sign_in
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of
from tests.support.oauth import RegisteredClient
from tests.support.oauth import claims_of
from tests.support.oauth import exchange
from tests.support.oauth import get_code

CALLBACK = "http://127.0.0.1:8765/callback"
ATTACK_CLIENT = {
    "client_name": "innocent app",
    "redirect_uris": [CALLBACK],
    "grant_types": ["authorization_code"],
    "token_endpoint_auth_method": "none",
    "scope": "openid admin",
    "first_party": True,
}


@pytest.fixture
def system(app):
    from app.services import tenants as tenants_service

    with app.app_context():
        return tenants_service.system_tenant()


@pytest.mark.parametrize(
    "changes",
    [
        {},  # the client: public, authorization_code
        {"token_endpoint_auth_method": "client_secret_basic"},
        {"grant_types": ["client_credentials", "authorization_code"]},
        {"grant_types": ["client_credentials", "refresh_token"]},
        {
            "grant_types": ["client_credentials"],
            "redirect_uris": [],
            "token_endpoint_auth_method": "none",
        },
    ],
)
def test_admin_scope_is_refused_unless_confidential_client_credentials(app, system, changes):
    api = Api(app, create_admin_key(app))
    response = api.post("/tenants/system/clients", json={**ATTACK_CLIENT, **changes})
    assert response.status_code == 400, response.get_json()
    assert (
        "scope" in problem_of(response)["errors"] or "grant_types" in problem_of(response)["errors"]
    )


def test_confidential_client_credentials_client_may_hold_admin(app, system):
    api = Api(app, create_admin_key(app))
    robot = {"client_name": "ops", "grant_types": ["client_credentials"], "scope": "admin"}
    created = api.post("/tenants/system/clients", json=robot)
    assert created.status_code == 201, created.get_json()
    # Adding a user-facing grant to it later is refused too.
    changed = api.patch(
        f"/tenants/system/clients/{created.get_json()['client_id']}",
        json={
            "grant_types": ["client_credentials", "authorization_code"],
            "redirect_uris": [CALLBACK],
        },
    )
    assert changed.status_code == 400


def _legacy_admin_client(app, system) -> RegisteredClient:
    """The issue's client as a row registered before validation refused it."""
    with app.app_context():
        row = Client(
            tenant_id=system.id,
            client_name=ATTACK_CLIENT["client_name"],
            redirect_uris=[CALLBACK],
            post_logout_redirect_uris=[],
            grant_types=["authorization_code"],
            response_types=["code"],
            token_endpoint_auth_method="none",
            scope="openid admin",
            id_token_signed_response_alg="RS256",
            first_party=True,
            roles=[],
        )
        db.session.add(row)
        db.session.commit()
        return RegisteredClient(row.id, None, CALLBACK)


def test_system_member_token_with_admin_scope_is_not_an_admin_credential(
    app, system, make_user, tenant_client
):
    """The issue's repro: member + PKCE + ``scope=openid admin`` → token → admin API."""
    make_user(system, "member@ops.example", roles=("member",))
    client = _legacy_admin_client(app, system)
    browser = tenant_client(system)
    sign_in(browser, "member@ops.example", DEFAULT_PASSWORD)
    assert browser.get("/admin/").status_code == 403  # not an operator

    code, verifier, _ = get_code(browser, client, scope="openid admin")
    token = exchange(browser, client, code, verifier)
    assert token.status_code == 200, token.get_json()
    access_token = token.get_json()["access_token"]
    assert "admin" in claims_of(access_token)["scope"].split()  # what the attacker holds

    api = Api(app, access_token)
    assert api.get("/tenants").status_code in (401, 403)
    assert api.post("/admin-keys", json={"name": "mine"}).status_code in (401, 403)


def test_client_credentials_token_of_a_client_later_widened_is_refused(app, system):
    """A token minted while the client was a machine client stops working once a stored
    row says otherwise (e.g. changed in the database by an older version)."""
    import base64

    api = Api(app, create_admin_key(app))
    robot = {"client_name": "ops", "grant_types": ["client_credentials"], "scope": "admin"}
    created = api.post("/tenants/system/clients", json=robot).get_json()
    basic = base64.b64encode(f"{created['client_id']}:{created['client_secret']}".encode())
    response = app.test_client().post(
        "/oauth2/token",
        base_url="http://gatehouse.test",
        data={"grant_type": "client_credentials", "scope": "admin"},
        headers={"Authorization": f"Basic {basic.decode()}"},
    )
    token = response.get_json()["access_token"]
    assert Api(app, token).get("/tenants").status_code == 200
    with app.app_context():
        row = db.session.get(Client, created["client_id"])
        row.grant_types = ["client_credentials", "authorization_code"]
        db.session.commit()

    assert Api(app, token).get("/tenants").status_code == 401
