"""Who may enter the console: anonymous → login, non-admin → 403, tenant admins stay in
their tenant, operators reach the instance console and any tenant; recent sign-in and
the MFA policy guard sensitive actions."""

from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from app.extensions import db
from app.services import tenants as tenants_service
from app.services.settings import update_settings
from tests.support.console import console_fixtures

make_console = console_fixtures()


def login_params(location: str) -> dict:
    parts = urlsplit(location)
    assert parts.path == "/login", location
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def test_anonymous_is_sent_to_login_with_next(tenant, tenant_client):
    response = tenant_client(tenant).get("/admin/users?q=x")
    assert response.status_code == 302
    assert login_params(response.location)["next"] == "/admin/users?q=x"


def test_anonymous_htmx_request_gets_hx_redirect(tenant, tenant_client):
    response = tenant_client(tenant).get("/admin/users", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_non_admin_gets_a_403_page(tenant, make_console):
    client = make_console(tenant, roles=("member",))
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "admin role" in response.get_data(as_text=True)


def test_tenant_admin_cannot_reach_the_instance_console(tenant, make_console):
    client = make_console(tenant)
    for path in ("/admin/tenants", "/admin/tenants/new", "/admin/tenants/acme-corp/users"):
        assert client.get(path).status_code == 404, path
    response = client.post("/admin/tenants/acme-corp/status", data={"status": "suspended"})
    assert response.status_code in (400, 404)  # CSRF or 404: never reaches the view


def test_tenant_admin_lands_on_the_overview(tenant, make_console):
    client = make_console(tenant)
    response = client.get("/admin/")
    assert response.status_code == 302 and response.location.endswith("/admin/overview")
    page = client.get("/admin/overview").get_data(as_text=True)
    assert "Acme Corp" in page and 'href="/admin/tenants"' not in page


def test_operator_sees_the_instance_console_and_opens_a_tenant(app, tenant, make_console):
    with app.app_context():
        system = tenants_service.system_tenant()
    client = make_console(system)
    assert client.get("/admin/").location.endswith("/admin/tenants")
    listing = client.get("/admin/tenants").get_data(as_text=True)
    assert "Acme Corp" in listing and "/admin/tenants/acme-corp/overview" in listing
    page = client.get("/admin/tenants/acme-corp/users")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Managing tenant" in body
    assert 'href="/admin/tenants/acme-corp/orgs"' in body  # links stay in the opened tenant
    assert client.get("/admin/tenants/no-such-tenant/users").status_code == 404


def test_a_system_member_is_not_an_operator(app, make_console):
    with app.app_context():
        system = tenants_service.system_tenant()
    client = make_console(system, roles=("member",))
    assert client.get("/admin/tenants").status_code == 403


def test_sensitive_action_needs_a_recent_sign_in(tenant, make_console):
    client = make_console(tenant, auth_age=timedelta(minutes=30))
    response = client.submit("/admin/keys/rotate", {}, form_path="/admin/keys")
    assert response.status_code == 302
    assert login_params(response.location) == {"next": "/admin/keys", "prompt": "login"}
    htmx = client.submit("/admin/api-keys", {"name": "ci"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 204 and "prompt=login" in htmx.headers["HX-Redirect"]


def test_console_follows_the_mfa_policy(app, tenant, make_console):
    with app.app_context():
        update_settings(db.session.merge(tenant), {"mfa_policy": "required_for_admins"})
        db.session.commit()
    client = make_console(tenant)  # signed in with a password only
    response = client.get("/admin/overview")
    assert response.status_code == 302 and "prompt=login" in response.location


def test_console_accepts_a_session_with_a_second_factor(app, tenant, make_user, tenant_client):
    from tests.support.console import sign_in

    with app.app_context():
        update_settings(db.session.merge(tenant), {"mfa_policy": "required"})
        db.session.commit()
    admin = make_user(tenant, "mfa-admin@acme.example", roles=("admin",))
    client = tenant_client(tenant)
    sign_in(app, client, tenant, admin, amr=("pwd", "otp"))
    assert client.get("/admin/overview").status_code == 200


def test_pages_load_htmx_and_csrf_header_without_inline_script(tenant, make_console):
    client = make_console(tenant)
    response = client.get("/admin/users")
    body = response.get_data(as_text=True)
    assert "/static/vendor/htmx.min.js" in body and "/static/js/admin.js" in body
    assert 'hx-headers=\'{"X-CSRFToken": "' in body
    assert "<script>" not in body and "cdn" not in body.lower()
