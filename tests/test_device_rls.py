"""The device flow as the app role under PostgreSQL row-level security (issue #16's
second wall): the device_authorizations table is secured like every tenant table, and
the whole flow works connected as ``gatehouse_app``. Skipped on SQLite."""

from __future__ import annotations

import pytest

from app import create_app
from app.extensions import db
from app.models import Tenant
from tests.conftest import BASE_DOMAIN
from tests.conftest import DEFAULT_PASSWORD
from tests.conftest import TEST_CONFIG
from tests.support.database import is_postgres
from tests.support.http import TenantClient
from tests.support.http import csrf_from
from tests.test_rls import app_role  # noqa: F401 - fixtures
from tests.test_rls import migrated  # noqa: F401
from tests.test_rls import world  # noqa: F401

pytestmark = pytest.mark.skipif(
    not is_postgres(), reason="row-level security is PostgreSQL's (SQLite: not applicable)"
)
DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


def test_device_flow_as_the_app_role(migrated, world, app_role):  # noqa: F811
    from app.services import clients

    owner = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": migrated[0]})
    with owner.app_context():
        tenant = db.session.get(Tenant, world["acme-corp"][0])
        tv, _secret = clients.create_client(
            tenant,
            {
                "client_name": "TV",
                "redirect_uris": [],
                "grant_types": [DEVICE],
                "token_endpoint_auth_method": "none",
                "scope": "openid profile",
            },
        )
        tv_id = tv.id
        db.session.commit()
        db.engine.dispose()
    acme = TenantClient(app_role.test_client(), f"acme-corp.{BASE_DOMAIN}")
    globex = TenantClient(app_role.test_client(), f"globex.{BASE_DOMAIN}")
    started = acme.post(
        "/oauth2/device_authorization", data={"client_id": tv_id, "scope": "openid profile"}
    ).get_json()
    assert "device_code" in started, started
    page = acme.get("/login")
    signed = acme.post(
        "/login",
        data={
            "email": "ada@acme-corp.example",
            "password": DEFAULT_PASSWORD,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    assert signed.status_code in (302, 303)
    review = acme.get("/device", query_string={"user_code": started["user_code"]})
    approved = acme.post(
        "/device",
        data={
            "csrf_token": csrf_from(review.get_data(as_text=True)),
            "user_code": started["user_code"],
            "decision": "approve",
        },
    )
    assert "Device connected" in approved.get_data(as_text=True)
    poll = {"grant_type": DEVICE, "device_code": started["device_code"], "client_id": tv_id}
    assert globex.post("/oauth2/token", data=poll).get_json()["error"] == "invalid_client"
    tokens = acme.post("/oauth2/token", data=poll)
    assert tokens.status_code == 200, tokens.get_json()
    assert acme.post("/oauth2/token", data=poll).get_json()["error"] == "invalid_grant"
