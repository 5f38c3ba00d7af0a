"""The signed-in user's /account: profile, password change, own sessions."""

import re

from app.extensions import db
from app.models import BrowserSession
from app.models import User
from tests.conftest import DEFAULT_PASSWORD
from tests.support.auth import audit_actions
from tests.support.auth import load
from tests.support.auth import sign_in

NEW_PASSWORD = "velvet canyon orbit 77"


def signed_in(tenant_client, tenant, email="ada@example.com", password=DEFAULT_PASSWORD):
    client = tenant_client(tenant)
    assert sign_in(client, email, password).status_code == 302
    return client


def test_account_page_has_sections_and_nav(tenant, user, tenant_client):
    html = signed_in(tenant_client, tenant).get("/account").get_data(as_text=True)
    for section in ('id="profile"', 'id="password"', 'id="sessions"', 'class="subnav"'):
        assert section in html
    assert "ada@example.com" in html and ">Sign out<" in html
    assert ">Admin<" not in html


def test_admins_see_the_admin_link(tenant, make_user, tenant_client):
    make_user(tenant, "boss@example.com", roles=("admin",))
    html = signed_in(tenant_client, tenant, "boss@example.com").get("/account")
    assert ">Admin<" in html.get_data(as_text=True)


def test_anonymous_nav_offers_sign_in_and_up(tenant, tenant_client):
    html = tenant_client(tenant).get("/").get_data(as_text=True)
    assert 'href="/login"' in html and 'href="/signup"' in html


def test_update_display_name(app, tenant, user, tenant_client):
    client = signed_in(tenant_client, tenant)
    response = client.submit("/account/profile", {"name": "Countess Ada"}, form_path="/account")
    assert response.status_code == 302
    assert load(app, User, user.id).name == "Countess Ada"
    assert 'value="Countess Ada"' in client.get("/account").get_data(as_text=True)
    too_long = client.submit("/account/profile", {"name": "x" * 201}, form_path="/account")
    assert too_long.status_code == 422 and 'id="name-error"' in too_long.get_data(as_text=True)


def test_change_password_asks_for_the_current_one(app, tenant, user, tenant_client):
    client = signed_in(tenant_client, tenant)
    response = client.submit(
        "/account/password",
        {"password": "not my password", "new_password": NEW_PASSWORD},
        form_path="/account",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="password-error"' in html and "not your current password" in html
    response = client.submit(
        "/account/password",
        {"password": DEFAULT_PASSWORD, "new_password": "qwertyuiop"},
        form_path="/account",
    )
    assert 'id="new_password-error"' in response.get_data(as_text=True)


def test_change_password_ends_every_other_session(app, tenant, user, tenant_client):
    other = signed_in(tenant_client, tenant)
    client = signed_in(tenant_client, tenant)
    response = client.submit(
        "/account/password",
        {"password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        form_path="/account",
    )
    assert response.status_code == 302
    assert client.get("/account").status_code == 200  # this one stays
    assert other.get("/account").status_code == 302  # the other is gone
    assert sign_in(tenant_client(tenant), "ada@example.com", NEW_PASSWORD).status_code == 302
    assert "password.changed" in audit_actions(app, tenant)


def session_ids(html):
    return re.findall(r"/account/sessions/(ses_[0-9A-Z]+)/end", html)


def test_list_and_end_own_sessions(app, tenant, user, tenant_client):
    other = signed_in(tenant_client, tenant)
    client = signed_in(tenant_client, tenant)
    html = client.get("/account").get_data(as_text=True)
    ids = session_ids(html)
    assert len(ids) == 2 and "this browser" in html
    with app.app_context():
        current = db.session.scalar(
            db.select(BrowserSession.id).order_by(BrowserSession.auth_time.desc())
        )
    other_id = next(i for i in ids if i != current)
    response = client.submit(f"/account/sessions/{other_id}/end", {}, form_path="/account")
    assert response.status_code == 302
    assert other.get("/account").status_code == 302
    assert session_ids(client.get("/account").get_data(as_text=True)) == [current]
    # Ending this browser's own session signs it out.
    response = client.submit(f"/account/sessions/{current}/end", {}, form_path="/account")
    assert response.headers["Location"] == "/login"
    assert client.get("/account").status_code == 302


def test_cannot_end_someone_elses_session(app, tenant, user, make_user, tenant_client):
    make_user(tenant, "grace@example.com")
    victim = signed_in(tenant_client, tenant, "grace@example.com")
    with app.app_context():
        victim_session = db.session.scalar(db.select(BrowserSession.id))
    attacker = signed_in(tenant_client, tenant)
    response = attacker.submit(f"/account/sessions/{victim_session}/end", {}, form_path="/account")
    assert response.status_code == 404
    assert victim.get("/account").status_code == 200


def test_account_forms_need_csrf(tenant, user, tenant_client):
    client = signed_in(tenant_client, tenant)
    assert client.post("/account/profile", data={"name": "x"}).status_code == 400
