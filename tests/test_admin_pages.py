"""Console pages: overview chart, sessions, audit log, API keys, settings with preview,
signing keys."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AdminApiKey
from app.models import AuditEvent
from app.models import BrowserSession
from app.models import SigningKey
from app.models import Tenant
from app.models.base import utcnow
from app.security.tokens import digest
from app.services import audit
from app.services import tenants as tenants_service
from app.services.settings import get_settings
from tests.support.console import console_fixtures
from tests.support.console import sign_in

make_console = console_fixtures()


@pytest.fixture
def admin(tenant, make_console):
    return make_console(tenant, "boss@acme.example")


def test_overview_counts_and_sign_in_chart(app, admin, tenant):
    with app.app_context():
        for days_ago, action in (
            (0, "login.succeeded"),
            (0, "login.succeeded"),
            (3, "login.failed"),
        ):
            event = audit.record(tenant, action)
            event.created_at = utcnow() - timedelta(days=days_ago)
        old = audit.record(tenant, "login.succeeded")
        old.created_at = utcnow() - timedelta(days=45)  # outside the window
        db.session.commit()
    page = admin.get("/admin/overview").get_data(as_text=True)
    assert "<svg" in page and 'class="chart"' in page and "<script>" not in page
    assert "2 successful sign-ins and 1 failed sign-ins" in page
    assert (
        page.count('class="bar bar-succeeded"') == 30 and page.count('class="bar bar-failed"') == 30
    )
    assert "Active sessions" in page and "Users" in page


def test_sessions_list_and_end(app, admin, tenant, make_user, tenant_client):
    member = make_user(tenant, "max@acme.example")
    session_id = sign_in(app, tenant_client(tenant), tenant, member)
    page = admin.get("/admin/sessions").get_data(as_text=True)
    assert "max@acme.example" in page and "this session" in page
    response = admin.submit(
        f"/admin/sessions/{session_id}/end",
        {},
        form_path="/admin/sessions",
        headers={"HX-Request": "true"},
    )
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="sessions-table"') and "Session ended." in body
    assert "max@acme.example" not in body
    with app.app_context():
        assert db.session.get(BrowserSession, session_id).ended_at is not None
    again = admin.submit(f"/admin/sessions/{session_id}/end", {}, form_path="/admin/sessions")
    assert again.status_code == 404


def test_audit_filters_by_action_actor_and_date(app, admin, tenant):
    with app.app_context():
        audit.record(tenant, "login.failed", actor_type="user", actor_id="usr_someone")
        moved = audit.record(tenant, "user.created", actor_type="user", actor_id="usr_other")
        moved.created_at = utcnow() - timedelta(days=10)
        db.session.commit()
    everything = admin.get("/admin/audit").get_data(as_text=True)
    assert "login.failed" in everything and "user.created" in everything
    by_action = admin.get("/admin/audit?action=login.*", headers={"HX-Request": "true"})
    body = by_action.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="audit-table"')
    assert "login.failed" in body and "user.created" not in body
    by_actor = admin.get("/admin/audit?actor=usr_other").get_data(as_text=True)
    assert ">user.created<" in by_actor and ">login.failed<" not in by_actor
    by_email = admin.get("/admin/audit?actor=boss@acme.example").get_data(as_text=True)
    assert "No events match." in by_email  # the admin has done nothing yet
    today = utcnow().date().isoformat()
    by_date = admin.get(f"/admin/audit?since={today}&until={today}").get_data(as_text=True)
    assert ">login.failed<" in by_date and "usr_other" not in by_date
    bad = admin.get("/admin/audit?since=yesterday")
    assert bad.status_code == 422 and "use a date like" in bad.get_data(as_text=True)


def test_audit_pages_with_a_cursor(app, admin, tenant):
    with app.app_context():
        for i in range(30):
            audit.record(tenant, "probe.event", n=i)
        db.session.commit()
    first = admin.get("/admin/audit?action=probe.event").get_data(as_text=True)
    assert first.count(">probe.event<") == 25 and "Older" in first
    cursor = first.split("before=")[1].split("&")[0].split('"')[0]
    second = admin.get(f"/admin/audit?action=probe.event&before={cursor}").get_data(as_text=True)
    assert second.count(">probe.event<") == 5


def test_api_key_is_shown_once_and_revocable(app, admin, tenant):
    response = admin.submit("/admin/api-keys", {"name": "terraform"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "shown only this once" in body
    raw = body.split('<p class="secret" tabindex="0">')[1].split("<")[0]
    assert raw.startswith("gh_admin_")
    with app.app_context():
        key = db.session.scalar(select(AdminApiKey).where(AdminApiKey.key_digest == digest(raw)))
        assert key.tenant_id == tenant.id and key.name == "terraform"
    listing = admin.get("/admin/api-keys").get_data(as_text=True)
    assert "terraform" in listing and raw not in listing
    revoked = admin.submit(
        f"/admin/api-keys/{key.id}/revoke",
        {},
        form_path="/admin/api-keys",
        headers={"HX-Request": "true"},
    )
    assert "revoked" in revoked.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(AdminApiKey, key.id).revoked_at is not None


def test_instance_keys_on_the_system_console(app, make_console):
    with app.app_context():
        system = tenants_service.system_tenant()
    operator = make_console(system)
    body = operator.submit("/admin/api-keys", {"name": "ops"}).get_data(as_text=True)
    assert "Instance API keys" in body
    with app.app_context():
        key = db.session.scalar(select(AdminApiKey).where(AdminApiKey.name == "ops"))
        assert key.tenant_id is None


def test_api_keys_need_a_recent_sign_in(app, tenant, make_console):
    stale = make_console(tenant, auth_age=timedelta(minutes=11))
    assert "sign in again" in stale.get("/admin/api-keys").get_data(as_text=True)
    response = stale.submit("/admin/api-keys", {"name": "late"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(AdminApiKey).where(AdminApiKey.name == "late")) is None


def settings_form(**overrides):
    form = {
        "signup_mode": "invite_only",
        "mfa_policy": "optional",
        "login_methods": ["password", "passkey"],
        "mfa_factors": ["totp"],
        "allowed_email_domains": "acme.example\nAcme.Org",
        "password_min_length": "14",
        "lockout_threshold": "5",
        "lockout_minutes": "30",
        "session_idle_minutes": "120",
        "session_max_hours": "48",
        "access_token_ttl_seconds": "900",
        "id_token_ttl_seconds": "3600",
        "refresh_token_ttl_days": "30",
        "refresh_token_idle_days": "14",
        "require_email_verification": "1",
        "branding.display_name": "Acme Login",
        "branding.logo_url": "",
        "branding.primary_color": "#0f766e",
    }
    form.update(overrides)
    return form


def test_settings_save(app, admin, tenant):
    response = admin.submit("/admin/settings", settings_form())
    assert response.status_code == 302
    with app.app_context():
        settings = get_settings(db.session.get(Tenant, tenant.id))
    assert settings["signup_mode"] == "invite_only"
    assert settings["allowed_email_domains"] == ["acme.example", "acme.org"]
    assert settings["password_min_length"] == 14 and settings["require_email_verification"] is True
    assert settings["passwordless_passkeys"] is False
    assert settings["branding"]["primary_color"] == "#0f766e"
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert 'value="#0f766e"' in page and "Acme Login" in page


def test_settings_errors_keep_the_typed_values(app, admin, tenant):
    response = admin.submit(
        "/admin/settings",
        settings_form(password_min_length="4", allowed_email_domains="not a domain"),
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "must be a whole number from 8 to 128" in body and "not a domain name" in body
    assert 'value="4"' in body
    with app.app_context():
        assert get_settings(db.session.get(Tenant, tenant.id))["signup_mode"] == "open"


def test_login_preview_partial(admin):
    response = admin.get(
        "/admin/settings/preview?branding.display_name=Globex+Login&branding.primary_color=%23ff0000",
        headers={"HX-Request": "true"},
    )
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith("{#") is False and 'id="login-preview"' in body
    assert 'fill="#ff0000"' in body and "Globex Login" in body and "style=" not in body
    bad = admin.get("/admin/settings/preview?branding.primary_color=red&branding.logo_url=http://x")
    text = bad.get_data(as_text=True)
    assert 'fill="#4f46e5"' in text and "Preview ignores" in text


def test_signing_keys_list_and_rotate(app, admin, tenant):
    assert admin.get("/admin/keys").status_code == 200
    response = admin.submit("/admin/keys/rotate", {}, form_path="/admin/keys")
    assert response.status_code == 302
    page = admin.get("/admin/keys").get_data(as_text=True)
    assert "Keys rotated" in page and ">active<" in page and ">next<" in page
    with app.app_context():
        statuses = {
            k.status
            for k in db.session.scalars(select(SigningKey).where(SigningKey.tenant_id == tenant.id))
        }
    assert {"active", "next"} <= statuses


def test_every_page_has_one_h1_and_labelled_nav(admin):
    for path in (
        "/admin/overview",
        "/admin/users",
        "/admin/settings",
        "/admin/audit",
        "/admin/keys",
    ):
        body = admin.get(path).get_data(as_text=True)
        assert body.count("<h1") == 1, path
        assert 'aria-label="Admin console"' in body and 'aria-current="page"' in body


def test_audit_records_console_actions(app, admin, tenant):
    admin.submit("/admin/users/new", {"email": "audited@acme.example", "roles": ["member"]})
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.tenant_id == tenant.id, AuditEvent.action == "user.created"
            )
        )
        (event,) = [e for e in events if e.data.get("email") == "audited@acme.example"]
        assert (event.actor_type, event.actor_id) == ("user", admin.user.id)
