"""Account data rights: access and portability (download as JSON), erasure after
re-authentication; by the person at /account and by admins through the API. Erasure
ends every session and refresh token and keeps the audit trail pseudonymised."""

import json

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.models import BrowserSession
from app.models import Grant
from app.models import RefreshToken
from app.models import User
from app.tenancy import scope
from tests.conftest import DEFAULT_PASSWORD
from tests.support import oauth
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.auth import sign_in


def _everything_about(app, tenant, user) -> str:
    """Every row of the tenant that mentions the user's id or email, as text, except the
    one ``user.deleted`` event whose data is the bare id (subscribers deprovision by it)."""
    with app.app_context():
        found = []
        notices = 0
        for table in db.metadata.sorted_tables:
            if "tenant_id" not in table.c:
                continue
            for row in db.session.execute(select(table).where(table.c.tenant_id == tenant.id)):
                if table.name == "events" and row.type == "user.deleted":
                    assert row.data == {"id": user.id}
                    notices += 1
                    continue
                text = json.dumps([str(v) for v in row], default=str)
                if user.id in text or user.email in text:
                    found.append(f"{table.name}: {text}")
        assert notices == 1, "one user.deleted event for subscribers"
        return "\n".join(found)


def _with_refresh_token(app, tenant, user, tenant_client):
    client = oauth.make_client(app, tenant)
    tc = tenant_client(tenant)
    oauth.sign_in(app, tc, tenant, user)
    tokens = oauth.login_tokens(tc, client)
    assert "refresh_token" in tokens
    return client, tc, tokens


def test_download_my_data_from_account(app, tenant, user, tenant_client):
    client = tenant_client(tenant)
    sign_in(client, "ada@example.com", DEFAULT_PASSWORD)
    response = client.get("/account/data")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    data = response.get_json()
    assert data["profile"]["email"] == "ada@example.com"
    assert data["roles"] == ["member"] and len(data["sessions"]) == 1
    assert "login.succeeded" in [e["action"] for e in data["audit_events"]]
    assert "password_hash" not in json.dumps(data) and "$argon2" not in json.dumps(data)
    assert "Download your data" in client.get("/account").get_data(as_text=True)


def test_delete_my_account_needs_the_password_and_erases_everything(
    app, tenant, user, tenant_client
):
    client, tc, tokens = _with_refresh_token(app, tenant, user, tenant_client)
    browser = tenant_client(tenant)
    sign_in(browser, "ada@example.com", DEFAULT_PASSWORD)
    assert "Your password" in browser.get("/account/delete").get_data(as_text=True)

    wrong = browser.submit("/account/delete", {"password": "not my password"})
    assert wrong.status_code == 422 and "not your password" in wrong.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id) is not None

    response = browser.submit("/account/delete", {"password": DEFAULT_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert browser.get("/account").status_code == 302
    # The refresh token of the app is dead, and so is every session.
    assert oauth.refresh(tc, client, tokens["refresh_token"]).status_code == 400
    with app.app_context():
        assert db.session.get(User, user.id) is None
        assert scope(tenant).count(BrowserSession) == 0
        assert scope(tenant).count(Grant) == 0 and scope(tenant).count(RefreshToken) == 0
        trail = scope(tenant).all(AuditEvent, order_by=AuditEvent.id)
        deleted = [e for e in trail if e.action == "user.deleted"][0]
        assert deleted.target_id.startswith("anon_") and deleted.actor_id == deleted.target_id
        assert "login.succeeded" in [e.action for e in trail]  # the trail stays
    assert _everything_about(app, tenant, user) == ""


def test_without_a_password_erasure_needs_a_recent_sign_in(app, tenant, make_user, tenant_client):
    from datetime import timedelta

    from app.models.base import utcnow

    person = make_user(tenant, "nopass@example.com", password=None)
    browser = tenant_client(tenant)
    session_id = oauth.sign_in(app, browser, tenant, person, amr=("fed",))
    with app.app_context():
        db.session.get(BrowserSession, session_id).auth_time = utcnow() - timedelta(hours=1)
        db.session.commit()
    page = browser.get("/account/delete").get_data(as_text=True)
    assert "sign in again" in page and "Delete my account" not in page
    assert browser.submit("/account/delete", {}, form_path="/account").status_code == 422
    with app.app_context():
        db.session.get(BrowserSession, session_id).auth_time = utcnow()
        db.session.commit()
    assert browser.submit("/account/delete", {}).status_code == 302
    with app.app_context():
        assert db.session.get(User, person.id) is None


def test_admin_export_and_delete_through_the_api(app, tenant, other_tenant, user, make_user):
    bob = make_user(other_tenant, "ada@example.com")
    api = Api(app, create_admin_key(app, tenant))
    data = api.get(f"/tenants/acme-corp/users/{user.id}/export").get_json()
    assert data["profile"]["id"] == user.id and data["tenant"]["slug"] == "acme-corp"
    # B's user with the same email is out of reach and untouched.
    assert api.get(f"/tenants/acme-corp/users/{bob.id}/export").status_code == 404
    assert api.delete(f"/tenants/acme-corp/users/{user.id}").status_code == 204
    assert _everything_about(app, tenant, user) == ""
    with app.app_context():
        assert db.session.get(User, bob.id) is not None
        actions = [e.action for e in scope(tenant).all(AuditEvent)]
        assert "user.data_exported" in actions and "user.deleted" in actions
