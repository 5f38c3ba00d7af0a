"""Settings, roles, sessions, audit and admin keys under /v2/admin/tenants/{tenant}."""

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import AdminApiKey
from app.models import AuditEvent
from app.models import BrowserSession
from app.models import Tenant
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of

T = "/tenants/acme-corp"


@pytest.fixture
def api(app, tenant):
    return Api(app, create_admin_key(app, tenant))


# --- settings


def test_settings_read_and_partial_update(app, api, tenant):
    settings = api.get(f"{T}/settings").get_json()
    assert settings["signup_mode"] == "open" and settings["password_min_length"] == 12
    body = api.patch(
        f"{T}/settings",
        json={
            "signup_mode": "invite_only",
            "allowed_email_domains": ["Acme.com"],
            "mfa_policy": "required_for_admins",
            "branding": {"display_name": "Acme", "primary_color": "#112233"},
        },
    ).get_json()
    assert body["signup_mode"] == "invite_only"
    assert body["allowed_email_domains"] == ["acme.com"]
    assert body["branding"]["display_name"] == "Acme"
    assert body["branding"]["primary_color"] == "#112233"
    with app.app_context():
        assert db.session.get(Tenant, tenant.id).settings["signup_mode"] == "invite_only"
        event = db.session.query(AuditEvent).filter_by(action="settings.updated").one()
        assert event.actor_type == "api_key"


def test_settings_errors_name_the_field(api):
    problem = problem_of(
        api.patch(
            f"{T}/settings",
            json={"signup_mode": "sometimes", "password_min_length": 3, "colour": "red"},
        )
    )
    assert set(problem["errors"]) == {"signup_mode", "password_min_length", "colour"}
    problem = problem_of(api.patch(f"{T}/settings", json={"branding": {"logo_url": "http://x"}}))
    assert "branding.logo_url" in problem["errors"]
    problem = problem_of(api.patch(f"{T}/settings", json={"access_token_ttl_seconds": "600"}))
    assert problem["errors"] == {"access_token_ttl_seconds": "must be integer"}
    assert api.get(f"{T}/settings").get_json()["signup_mode"] == "open"


# --- roles


def test_roles_list_create_update_delete(api, user):
    roles = api.get(f"{T}/roles").get_json()["items"]
    assert {(r["kind"], r["name"]) for r in roles} >= {("tenant", "admin"), ("org", "owner")}
    assert {r["kind"] for r in api.get(f"{T}/roles?kind=org").get_json()["items"]} == {"org"}
    created = api.post(f"{T}/roles", json={"name": "billing", "description": "Pays"})
    assert created.status_code == 201
    role = created.get_json()
    assert role["kind"] == "tenant" and role["builtin"] is False
    assert problem_of(api.post(f"{T}/roles", json={"name": "billing"}))["status"] == 409
    assert problem_of(api.post(f"{T}/roles", json={"name": "Bad Name"}))["status"] == 400
    assert problem_of(api.post(f"{T}/roles", json={"name": "x", "kind": "god"}))["status"] == 400
    assert api.get(f"{T}/roles/{role['id']}").get_json()["name"] == "billing"
    assert (
        api.patch(f"{T}/roles/{role['id']}", json={"description": "Pays bills"}).get_json()[
            "description"
        ]
        == "Pays bills"
    )
    api.put(f"{T}/users/{user.id}/roles", json={"roles": ["billing", "member"]})
    assert api.delete(f"{T}/roles/{role['id']}").status_code == 204
    assert api.get(f"{T}/users/{user.id}").get_json()["roles"] == ["member"]
    assert api.get(f"{T}/roles/{role['id']}").status_code == 404


def test_builtin_roles_cannot_be_deleted(api):
    admin = next(r for r in api.get(f"{T}/roles").get_json()["items"] if r["name"] == "admin")
    assert problem_of(api.delete(f"{T}/roles/{admin['id']}"))["status"] == 400


def test_org_role_can_be_created(api):
    body = api.post(f"{T}/roles", json={"kind": "org", "name": "reviewer"}).get_json()
    assert body["kind"] == "org"


# --- sessions


def _start_session(app, tenant, user):
    from app.services import sessions as sessions_service

    with app.app_context():
        session, _ = sessions_service.start_session(
            db.session.merge(tenant), db.session.merge(user), amr=["pwd"], ip="203.0.113.9"
        )
        db.session.commit()
        return session.id


def test_sessions_list_and_end_one(app, api, tenant, user, make_user):
    other = make_user(tenant, "bob@example.com")
    mine = _start_session(app, tenant, user)
    theirs = _start_session(app, tenant, other)
    listed = api.get(f"{T}/sessions").get_json()["items"]
    assert {s["id"] for s in listed} == {mine, theirs}
    assert listed[0]["ip"] == "203.0.113.9"
    only = api.get(f"{T}/sessions?user_id={other.id}").get_json()["items"]
    assert [s["id"] for s in only] == [theirs]
    assert api.delete(f"{T}/sessions/{mine}").status_code == 204
    assert api.delete(f"{T}/sessions/{mine}").status_code == 404
    assert [s["id"] for s in api.get(f"{T}/sessions").get_json()["items"]] == [theirs]
    with app.app_context():
        assert db.session.get(BrowserSession, mine).ended_at is not None


# --- audit


def test_audit_filters_and_cursor(app, api, user):
    api.patch(f"{T}/users/{user.id}", json={"name": "A"})
    api.patch(f"{T}/users/{user.id}", json={"name": "B"})
    api.patch(f"{T}/settings", json={"signup_mode": "closed"})
    events = api.get(f"{T}/audit").get_json()["items"]
    actions = [e["action"] for e in events]
    assert actions[0] == "settings.updated"  # newest first
    assert actions.count("user.updated") == 2
    updated = api.get(f"{T}/audit?action=user.updated").get_json()["items"]
    assert len(updated) == 2 and all(e["target"]["id"] == user.id for e in updated)
    assert {e["action"] for e in api.get(f"{T}/audit?action=user.*").get_json()["items"]} >= {
        "user.created",
        "user.updated",
    }
    by_target = api.get(f"{T}/audit?target={user.id}").get_json()["items"]
    assert {e["action"] for e in by_target} >= {"user.created", "user.updated"}
    actor = updated[0]["actor"]
    assert actor["type"] == "api_key"
    assert len(api.get(f"{T}/audit?actor={actor['id']}").get_json()["items"]) == 3
    first = api.get(f"{T}/audit?limit=2").get_json()
    second = api.get(f"{T}/audit?limit=2&cursor={first['next_cursor']}").get_json()
    assert not {e["id"] for e in first["items"]} & {e["id"] for e in second["items"]}
    assert [e["id"] for e in first["items"] + second["items"]] == [e["id"] for e in events[:4]]


def test_audit_time_range(api, user):
    api.patch(f"{T}/users/{user.id}", json={"name": "A"})
    now = datetime.now(UTC)
    later = (now + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    earlier = (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert api.get(f"{T}/audit?since={later}").get_json()["items"] == []
    assert api.get(f"{T}/audit?since={earlier}&until={later}").get_json()["items"]
    assert api.get(f"{T}/audit?until={earlier}").get_json()["items"] == []
    assert problem_of(api.get(f"{T}/audit?since=yesterday"))["errors"]["since"]
    assert problem_of(api.get(f"{T}/audit?since={later}&until={earlier}"))["status"] == 400


# --- admin keys


def test_tenant_admin_keys_create_once_list_revoke(app, api, tenant):
    response = api.post(f"{T}/admin-keys", json={"name": "ci"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["key"].startswith("gh_admin_") and body["scope"] == "tenant"
    listed = api.get(f"{T}/admin-keys").get_json()["items"]
    assert body["id"] in {k["id"] for k in listed}
    assert all("key" not in k for k in listed)
    fresh = Api(app, body["key"])
    assert fresh.get(T).status_code == 200
    assert api.delete(f"{T}/admin-keys/{body['id']}").status_code == 204
    assert fresh.get(T).status_code == 401
    assert problem_of(api.delete(f"{T}/admin-keys/akey_nope"))["status"] == 404
    assert problem_of(api.post(f"{T}/admin-keys", json={"name": 3}))["status"] == 400


def test_instance_keys_need_an_instance_credential(app, api, tenant):
    assert api.get("/admin-keys").status_code == 403
    assert api.post("/admin-keys", json={}).status_code == 403
    instance = Api(app, create_admin_key(app))
    body = instance.post("/admin-keys", json={"name": "ops"}).get_json()
    assert body["scope"] == "instance" and body["tenant_id"] is None
    assert body["id"] in {k["id"] for k in instance.get("/admin-keys").get_json()["items"]}
    # A tenant key cannot revoke an instance key, even by id.
    assert api.delete(f"{T}/admin-keys/{body['id']}").status_code == 404
    assert instance.delete(f"/admin-keys/{body['id']}").status_code == 204
    with app.app_context():
        assert db.session.get(AdminApiKey, body["id"]).revoked_at is not None
