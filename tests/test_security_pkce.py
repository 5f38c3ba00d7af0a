"""``require_pkce_for_confidential_clients`` (OAuth 2.1): on for new tenants, off for
tenants created before the setting existed until they turn it on; settable in the API
and the console."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Tenant
from app.services.settings import get_settings
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.console import console_fixtures
from tests.support.oauth import authorize
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair
from tests.support.oauth import query_of
from tests.support.oauth import sign_in

make_console = console_fixtures()


@pytest.fixture
def signed_in(app, tenant, user, tenant_client):
    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, user)
    return tc


def _without_challenge(tc, client):
    return query_of(authorize(tc, client, verifier_challenge=False))


def test_new_tenants_require_pkce_from_confidential_clients(app, tenant, signed_in):
    with app.app_context():
        assert get_settings(db.session.get(Tenant, tenant.id))[
            "require_pkce_for_confidential_clients"
        ]
    confidential = make_client(app, tenant)
    refused = _without_challenge(signed_in, confidential)
    assert refused["error"] == "invalid_request"
    assert "PKCE" in refused["error_description"]
    _, challenge = pkce_pair()
    assert "code" in query_of(authorize(signed_in, confidential, verifier_challenge=challenge))


def test_existing_tenants_keep_their_behaviour_until_they_opt_in(app, tenant, signed_in):
    with app.app_context():  # a tenant stored before the setting existed: no key at all
        row = db.session.get(Tenant, tenant.id)
        row.settings = {k: v for k, v in (row.settings or {}).items() if "pkce" not in k}
        db.session.commit()
    confidential = make_client(app, tenant)
    assert "code" in _without_challenge(signed_in, confidential)

    api = Api(app, create_admin_key(app))
    response = api.get("/tenants/acme-corp/settings")
    assert response.get_json()["require_pkce_for_confidential_clients"] is False
    changed = api.patch(
        "/tenants/acme-corp/settings", json={"require_pkce_for_confidential_clients": True}
    )
    assert changed.status_code == 200
    assert changed.get_json()["require_pkce_for_confidential_clients"] is True
    assert _without_challenge(signed_in, confidential)["error"] == "invalid_request"
    bad = api.patch(
        "/tenants/acme-corp/settings", json={"require_pkce_for_confidential_clients": 1}
    )
    assert bad.status_code == 400


def test_public_clients_always_need_pkce(app, tenant, signed_in):
    api = Api(app, create_admin_key(app))
    api.patch("/tenants/acme-corp/settings", json={"require_pkce_for_confidential_clients": False})
    public = make_client(app, tenant, token_endpoint_auth_method="none")
    assert _without_challenge(signed_in, public)["error"] == "invalid_request"
    confidential = make_client(app, tenant)
    assert "code" in _without_challenge(signed_in, confidential)


def test_console_settings_page_toggles_it(app, tenant, make_console):
    from tests.test_admin_pages import settings_form

    admin = make_console(tenant, "boss@acme.example")
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert 'name="require_pkce_for_confidential_clients" value="1" checked' in page
    saved = admin.submit("/admin/settings", settings_form())  # the box left unticked
    assert saved.status_code == 302
    with app.app_context():
        stored = get_settings(db.session.get(Tenant, tenant.id))
        assert stored["require_pkce_for_confidential_clients"] is False
    form = settings_form(require_pkce_for_confidential_clients="1")
    assert admin.submit("/admin/settings", form).status_code == 302
    with app.app_context():
        stored = get_settings(db.session.get(Tenant, tenant.id))
        assert stored["require_pkce_for_confidential_clients"] is True
