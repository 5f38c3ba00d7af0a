"""API resources, role permissions, client API access and custom claims in the console:
the "done when" steps from the console alone (define an API with two permissions, give one
to `member`), with form errors as messages and another tenant's objects as 404."""

import pytest

from app.extensions import db
from app.models import Resource
from app.models import Role
from app.models import Tenant
from app.services import clients as clients_service
from app.services import permissions
from app.services import resources as resources_service
from app.services import settings as settings_service
from app.tenancy import scope
from tests.support.console import console_fixtures

make_console = console_fixtures()
API = "https://api.acme.example"


@pytest.fixture
def admin(tenant, make_console):
    return make_console(tenant, "boss@acme.example")


def _resource(app, tenant):
    with app.app_context():
        return scope(tenant).first(Resource, Resource.identifier == API)


def test_define_an_api_and_give_one_permission_to_member(app, admin, tenant, user):
    nav = admin.get("/admin/overview").get_data(as_text=True)
    assert "/admin/resources" in nav and "/admin/roles" in nav
    created = admin.submit(
        "/admin/resources/new",
        {
            "identifier": API,
            "name": "Acme API",
            "permissions": "read:projects Read projects\nwrite:projects  Change projects",
            "access_token_ttl_seconds": "",
        },
    )
    assert created.status_code == 302, created.get_data(as_text=True)
    resource = _resource(app, tenant)
    assert resource.permissions == [
        {"name": "read:projects", "description": "Read projects"},
        {"name": "write:projects", "description": "Change projects"},
    ]
    assert resource.access_token_ttl_seconds is None
    listing = admin.get("/admin/resources").get_data(as_text=True)
    assert API in listing and "read:projects" in listing

    with app.app_context():
        member = scope(tenant).first(Role, Role.kind == "tenant", Role.name == "member")
    page = admin.get(f"/admin/roles/{member.id}").get_data(as_text=True)
    assert f'value="{API} read:projects"' in page
    saved = admin.submit(
        f"/admin/roles/{member.id}",
        {"description": "A regular user", "permissions": [f"{API} read:projects"]},
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    with app.app_context():
        held = permissions.user_permissions(db.session.merge(tenant), db.session.merge(user))
    assert held == {API: frozenset({"read:projects"})}
    roles_page = admin.get("/admin/roles").get_data(as_text=True)
    assert "read:projects" in roles_page


def test_resource_form_errors_are_messages(app, admin, tenant):
    bad = admin.submit(
        "/admin/resources/new",
        {"identifier": "not a uri", "name": "", "permissions": "openid Sign in"},
    )
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "absolute URI" in body and 'value="not a uri"' in body
    with app.app_context():
        assert scope(tenant).count(Resource) == 0
    admin.submit("/admin/resources/new", {"identifier": API, "name": "Acme API"})
    resource = _resource(app, tenant)
    bad = admin.submit(
        f"/admin/resources/{resource.id}",
        {"name": "Acme", "permissions": "x\nx", "access_token_ttl_seconds": "5"},
    )
    assert bad.status_code == 422 and "listed twice" in bad.get_data(as_text=True)
    ok = admin.submit(
        f"/admin/resources/{resource.id}",
        {"name": "Acme", "permissions": "read", "access_token_ttl_seconds": "300"},
    )
    assert ok.status_code == 302
    assert _resource(app, tenant).access_token_ttl_seconds == 300
    deleted = admin.submit(
        f"/admin/resources/{resource.id}/delete", {}, form_path=f"/admin/resources/{resource.id}"
    )
    assert deleted.status_code == 302 and _resource(app, tenant) is None


def test_custom_roles_and_client_api_access(app, admin, tenant):
    with app.app_context():
        t = db.session.merge(tenant)
        resources_service.create_resource(
            t, {"identifier": API, "name": "Acme API", "permissions": [{"name": "sync"}]}
        )
        client, _ = clients_service.create_client(
            t, {"client_name": "Worker", "grant_types": ["client_credentials"]}
        )
        db.session.commit()
    created = admin.submit(
        "/admin/roles/new", {"kind": "org", "name": "auditor", "description": "Reads"}
    )
    assert created.status_code == 302
    bad = admin.submit("/admin/roles/new", {"kind": "tenant", "name": "Bad Name"})
    assert bad.status_code == 422 and "start with a-z" in bad.get_data(as_text=True)
    with app.app_context():
        role = scope(tenant).first(Role, Role.name == "auditor")
    forged = admin.submit(f"/admin/roles/{role.id}", {"permissions": [f"{API} fly"]})
    assert forged.status_code == 422 and "has no permission" in forged.get_data(as_text=True)
    deleted = admin.submit(
        f"/admin/roles/{role.id}/delete", {}, form_path=f"/admin/roles/{role.id}"
    )
    assert deleted.status_code == 302

    page = admin.get(f"/admin/clients/{client.id}").get_data(as_text=True)
    assert "API access" in page and f'value="{API} sync"' in page
    saved = admin.submit(
        f"/admin/clients/{client.id}/resource-grants",
        {"grant": [API], "permission": [f"{API} sync"]},
        form_path=f"/admin/clients/{client.id}",
    )
    assert saved.status_code == 302
    with app.app_context():
        assert permissions.client_grants(tenant, [client.id])[client.id] == [
            {"resource": API, "permissions": ["sync"]}
        ]


def test_custom_claims_setting_in_the_console(app, admin, tenant):
    page = admin.get("/admin/settings").get_data(as_text=True)
    form = {
        "signup_mode": "open",
        "mfa_policy": "optional",
        "login_methods": ["password"],
        "mfa_factors": ["totp"],
        "allowed_email_domains": "",
        "password_min_length": "12",
        "lockout_threshold": "10",
        "lockout_minutes": "15",
        "session_idle_minutes": "1440",
        "session_max_hours": "336",
        "access_token_ttl_seconds": "600",
        "id_token_ttl_seconds": "3600",
        "refresh_token_ttl_days": "30",
        "refresh_token_idle_days": "14",
        "branding.primary_color": "#4f46e5",
    }
    assert "custom_claims" in page
    bad = admin.submit("/admin/settings", {**form, "custom_claims": "email = work_email"})
    assert bad.status_code == 422 and "cannot be overridden" in bad.get_data(as_text=True)
    ok = admin.submit(
        "/admin/settings", {**form, "custom_claims": "https://acme.example/plan = plan\ntier"}
    )
    assert ok.status_code == 302
    with app.app_context():
        saved = settings_service.get_settings(db.session.get(Tenant, tenant.id))["custom_claims"]
    assert saved == {"https://acme.example/plan": "plan", "tier": "tier"}
    assert "https://acme.example/plan = plan" in admin.get("/admin/settings").get_data(as_text=True)
