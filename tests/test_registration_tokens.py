"""Initial access tokens for dynamic client registration: the admin API resource
(/v2/admin/tenants/{t}/registration-tokens), the console page, the setting on the
console's settings page, and the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.models import InitialAccessToken
from app.models import Tenant
from app.security.tokens import digest
from app.services.settings import get_settings
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of
from tests.support.console import console_fixtures
from tests.support.registration import oauth_error
from tests.support.registration import register
from tests.support.registration import set_mode

make_console = console_fixtures()


@pytest.fixture
def api(app, tenant):
    return Api(app, create_admin_key(app, tenant))


def _actions(app, tenant) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.tenant_id == tenant.id)
                .order_by(AuditEvent.id)
            )
        )


def test_api_create_list_use_and_revoke(app, tenant, api, tenant_client):
    set_mode(app, tenant, "initial_access_token")
    path = f"/tenants/{tenant.slug}/registration-tokens"
    created = api.post(path, json={"name": "partners", "expires_in": 3600, "max_uses": 5})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    token = body["token"]
    assert token.startswith("gh_iat_") and body["status"] == "active"
    assert body["max_uses"] == 5 and body["uses"] == 0 and body["expires_at"]
    with app.app_context():
        row = db.session.get(InitialAccessToken, body["id"])
        assert row.token_digest == digest(token) and row.tenant_id == tenant.id

    assert register(tenant_client(tenant), token=token).status_code == 201
    listed = api.get(path).get_json()
    assert [t["id"] for t in listed["items"]] == [body["id"]]
    assert listed["items"][0]["uses"] == 1 and listed["items"][0]["last_used_at"]
    assert "token" not in listed["items"][0] and token not in str(listed)

    assert api.delete(f"{path}/{body['id']}").status_code == 204
    assert api.get(path).get_json()["items"] == []
    oauth_error(register(tenant_client(tenant), token=token), 401, "invalid_token")
    assert problem_of(api.delete(f"{path}/{body['id']}"))["status"] == 404
    actions = _actions(app, tenant)
    assert "registration_token.created" in actions and "registration_token.revoked" in actions


def test_api_validation(api, tenant):
    path = f"/tenants/{tenant.slug}/registration-tokens"
    for bad in (
        {},
        {"name": ""},
        {"name": "x", "expires_in": 0},
        {"name": "x", "max_uses": -1},
        {"name": "x", "scope": "admin"},
    ):
        assert problem_of(api.post(path, json=bad))["status"] == 400, bad
    unlimited = api.post(path, json={"name": "no limits"}).get_json()
    assert unlimited["expires_at"] is None and unlimited["max_uses"] is None


def test_another_tenants_key_cannot_reach_the_tokens(app, tenant, other_tenant):
    mine = Api(app, create_admin_key(app, tenant))
    theirs = Api(app, create_admin_key(app, other_tenant))
    created = mine.post(f"/tenants/{tenant.slug}/registration-tokens", json={"name": "a"})
    token_id = created.get_json()["id"]
    assert theirs.get(f"/tenants/{tenant.slug}/registration-tokens").status_code == 404
    gone = theirs.delete(f"/tenants/{other_tenant.slug}/registration-tokens/{token_id}")
    assert gone.status_code == 404
    assert mine.get(f"/tenants/{tenant.slug}/registration-tokens").get_json()["items"]


def test_setting_in_the_api_and_validated(api, tenant):
    path = f"/tenants/{tenant.slug}/settings"
    assert api.get(path).get_json()["dynamic_registration"] == "off"
    assert (
        api.patch(path, json={"dynamic_registration": "open"}).get_json()["dynamic_registration"]
        == "open"
    )
    refused = problem_of(api.patch(path, json={"dynamic_registration": "yes"}))
    assert refused["status"] == 400


# --- console -------------------------------------------------------------------------------


def test_console_settings_page_sets_the_mode(app, tenant, make_console):
    admin = make_console(tenant)
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert 'name="dynamic_registration"' in page
    from tests.test_admin_pages import settings_form

    saved = admin.submit("/admin/settings", settings_form(dynamic_registration="open"))
    assert saved.status_code == 302
    with app.app_context():
        assert get_settings(db.session.get(Tenant, tenant.id))["dynamic_registration"] == "open"
    wrong = admin.submit("/admin/settings", settings_form(dynamic_registration="sometimes"))
    assert wrong.status_code == 422 and "must be one of" in wrong.get_data(as_text=True)


def test_console_token_page_shows_the_token_once_and_revokes(
    app, tenant, make_console, tenant_client
):
    set_mode(app, tenant, "initial_access_token")
    admin = make_console(tenant)
    page = admin.get("/admin/registration")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Client registration" in html and "allowed with an initial access token" in html
    created = admin.submit(
        "/admin/registration", {"name": "installer", "expires_in": "86400", "max_uses": "3"}
    )
    body = created.get_data(as_text=True)
    assert created.status_code == 200 and "shown only this once" in body
    raw = body.split('<p class="secret" tabindex="0">')[1].split("<")[0]
    assert raw.startswith("gh_iat_")
    assert register(tenant_client(tenant), token=raw).status_code == 201
    listing = admin.get("/admin/registration").get_data(as_text=True)
    assert "installer" in listing and raw not in listing and "1 / 3" in listing

    invalid = admin.submit("/admin/registration", {"name": "", "max_uses": "zero"})
    assert invalid.status_code == 422 and "is required" in invalid.get_data(as_text=True)

    with app.app_context():
        row = db.session.scalar(select(InitialAccessToken))
    revoked = admin.submit(
        f"/admin/registration/{row.id}/revoke",
        {},
        form_path="/admin/registration",
        headers={"HX-Request": "true"},
    )
    assert "revoked" in revoked.get_data(as_text=True)
    oauth_error(register(tenant_client(tenant), token=raw), 401, "invalid_token")


def test_console_page_is_for_admins_of_this_tenant(app, tenant, other_tenant, make_console):
    member = make_console(tenant, roles=("member",))
    assert member.get("/admin/registration").status_code in (302, 403)
    outsider = make_console(other_tenant)
    with app.app_context():
        from app.services import registration_tokens

        row, _ = registration_tokens.create_token(db.session.get(Tenant, tenant.id), "acme only")
        db.session.commit()
    assert "acme only" not in outsider.get("/admin/registration").get_data(as_text=True)
    refused = outsider.submit(
        f"/admin/registration/{row.id}/revoke", {}, form_path="/admin/registration"
    )
    assert refused.status_code == 404
