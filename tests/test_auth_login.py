"""Signing in and out on the hosted pages."""

import pytest

from app.extensions import db
from app.models import AuditEvent
from app.models import BrowserSession
from app.models import User
from tests.conftest import DEFAULT_PASSWORD
from tests.support.auth import audit_actions
from tests.support.auth import comparable
from tests.support.auth import load
from tests.support.auth import sign_in


def session_cookie(client, tenant):
    return client.cookie(f"gh_session_{tenant.id.lower()}")


def test_login_page_has_the_stable_field_names(tenant, tenant_client):
    html = tenant_client(tenant).get("/login").get_data(as_text=True)
    for name in ("email", "password", "csrf_token"):
        assert f'name="{name}"' in html
    assert "Acme Corp" in html
    assert "style=" not in html and "<script>" not in html


def test_sign_in_and_out(app, tenant, user, tenant_client):
    client = tenant_client(tenant)
    response = sign_in(client, "ada@example.com", DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"
    assert session_cookie(client, tenant) is not None
    assert "ada@example.com" in client.get("/account").get_data(as_text=True)

    # GET /logout only asks; POST with the CSRF token signs out.
    page = client.get("/logout")
    assert page.status_code == 200 and "Sign out" in page.get_data(as_text=True)
    assert client.get("/account").status_code == 200
    response = client.submit("/logout", {})
    assert response.status_code == 302
    assert session_cookie(client, tenant) is None
    assert client.get("/account").status_code == 302
    with app.app_context():
        rows = db.session.scalars(db.select(BrowserSession)).all()
        assert len(rows) == 1 and rows[0].ended_at is not None
    actions = audit_actions(app, tenant)
    assert "login.succeeded" in actions and "logout" in actions


def test_logout_without_csrf_is_refused(tenant, user, tenant_client):
    client = tenant_client(tenant)
    sign_in(client, "ada@example.com", DEFAULT_PASSWORD)
    assert client.post("/logout", data={}).status_code == 400
    assert client.get("/account").status_code == 200


def test_sign_in_rotates_the_session_id(tenant, user, tenant_client):
    client = tenant_client(tenant)
    sign_in(client, "ada@example.com", DEFAULT_PASSWORD)
    first = session_cookie(client, tenant).value
    # prompt=login (OIDC) shows the form to a signed-in browser.
    sign_in(client, "ada@example.com", DEFAULT_PASSWORD, form_path="/login?prompt=login")
    second = session_cookie(client, tenant).value
    assert first != second
    # The old id is dead server-side.
    other = tenant_client(tenant)
    other.client.set_cookie(f"gh_session_{tenant.id.lower()}", first, domain=other.host)
    assert other.get("/account").status_code == 302


def test_wrong_password_keeps_the_email_and_says_so_inline(app, tenant, user, tenant_client):
    client = tenant_client(tenant)
    response = sign_in(client, "ada@example.com", "not the password at all")
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Incorrect email or password." in html
    assert 'value="ada@example.com"' in html
    assert "not the password at all" not in html
    assert session_cookie(client, tenant) is None
    assert "login.failed" in audit_actions(app, tenant)


def test_missing_fields_are_reported_next_to_them(tenant, tenant_client):
    response = tenant_client(tenant).submit("/login", {"email": "", "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in html
    assert 'id="email-error"' in html and "Enter your email address." in html
    assert 'aria-describedby="email-error"' in html


def test_unknown_email_and_wrong_password_answer_alike(tenant, user, tenant_client):
    wrong = sign_in(tenant_client(tenant), "ada@example.com", "wrong password 123")
    unknown = sign_in(tenant_client(tenant), "nobody@example.com", "wrong password 123")
    assert wrong.status_code == unknown.status_code == 401
    assert comparable(wrong.get_data(as_text=True), "ada@example.com") == comparable(
        unknown.get_data(as_text=True), "nobody@example.com"
    )


def test_a_disabled_user_gets_the_generic_error(app, tenant, user, tenant_client):
    with app.app_context():
        db.session.get(User, user.id).status = "disabled"
        db.session.commit()
    response = sign_in(tenant_client(tenant), "ada@example.com", DEFAULT_PASSWORD)
    assert response.status_code == 401
    assert "Incorrect email or password." in response.get_data(as_text=True)


def test_lockout_after_the_tenant_threshold(app, make_tenant, make_user, tenant_client):
    tenant = make_tenant("acme-corp", "Acme Corp", lockout_threshold=3, lockout_minutes=5)
    make_user(tenant)
    client = tenant_client(tenant)
    for _ in range(2):
        assert sign_in(client, "ada@example.com", "wrong password 123").status_code == 401
    response = sign_in(client, "ada@example.com", "wrong password 123")
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)
    # Even the right password is refused while locked.
    response = sign_in(client, "ada@example.com", DEFAULT_PASSWORD)
    assert response.status_code == 429
    assert session_cookie(client, tenant) is None
    assert "login.locked" in audit_actions(app, tenant)

    # Once the lock expires, the right password works again.
    from datetime import timedelta

    from app.models.base import utcnow

    with app.app_context():
        row = db.session.scalar(db.select(User).where(User.tenant_id == tenant.id))
        row.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert sign_in(client, "ada@example.com", DEFAULT_PASSWORD).status_code == 302


def test_success_resets_the_failure_count(app, make_tenant, make_user, tenant_client):
    tenant = make_tenant("acme-corp", "Acme Corp", lockout_threshold=3)
    user = make_user(tenant)
    client = tenant_client(tenant)
    sign_in(client, "ada@example.com", "wrong password 123")
    sign_in(client, "ada@example.com", "wrong password 123")
    assert sign_in(client, "ada@example.com", DEFAULT_PASSWORD).status_code == 302
    assert load(app, User, user.id).failed_logins == 0


@pytest.mark.parametrize(
    "target",
    ["/oauth2/authorize?client_id=cli_1&scope=openid%20email&state=a%2Fb", "/account#sessions"],
)
def test_next_is_followed_after_sign_in(tenant, user, tenant_client, target):
    client = tenant_client(tenant)
    page = client.get("/login", query_string={"next": target}).get_data(as_text=True)
    assert 'name="next"' in page
    response = sign_in(client, "ada@example.com", DEFAULT_PASSWORD, next=target)
    assert response.headers["Location"] == target


def test_next_under_the_path_form_stays_under_the_prefix(tenant, user, tenant_client):
    client = tenant_client(tenant, path_form=True)
    target = "/oauth2/authorize?client_id=cli_1&state=xyz"
    response = sign_in(client, "ada@example.com", DEFAULT_PASSWORD, next=target)
    assert response.headers["Location"] == "/t/acme-corp" + target
    client = tenant_client(tenant, path_form=True)
    response = sign_in(client, "ada@example.com", DEFAULT_PASSWORD, next="/t/acme-corp/account")
    assert response.headers["Location"] == "/t/acme-corp/account"


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "http:/evil", "javascript:x"],
)
def test_foreign_next_is_refused(tenant, user, tenant_client, target):
    client = tenant_client(tenant)
    page = client.get("/login", query_string={"next": target}).get_data(as_text=True)
    assert "evil" not in page
    response = sign_in(client, "ada@example.com", DEFAULT_PASSWORD, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/"


def test_signed_in_visit_to_login_goes_on_to_next(tenant, user, tenant_client):
    client = tenant_client(tenant)
    sign_in(client, "ada@example.com", DEFAULT_PASSWORD)
    response = client.get("/login", query_string={"next": "/oauth2/authorize?x=1"})
    assert response.status_code == 302 and response.headers["Location"] == "/oauth2/authorize?x=1"


def test_account_page_sends_anonymous_visitors_to_login_and_back(tenant, user, tenant_client):
    client = tenant_client(tenant)
    response = client.get("/account")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert login_url.startswith("/login?next=")
    page = client.get(login_url).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/account' in page


def test_cookie_flags_in_development(tenant, user, tenant_client):
    client = tenant_client(tenant)
    response = sign_in(client, "ada@example.com", DEFAULT_PASSWORD)
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("gh_session_"))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Domain=" not in header  # host-only


@pytest.mark.config(URL_SCHEME="https")
def test_cookie_flags_over_https(tenant, user, tenant_client):
    from tests.support.http import TenantClient

    base = tenant_client(tenant)
    client = TenantClient(base.client, base.host, scheme="https")
    response = sign_in(client, "ada@example.com", DEFAULT_PASSWORD)
    assert response.status_code == 302
    header = next(
        h for h in response.headers.getlist("Set-Cookie") if "gh_session_" in h.split("=")[0]
    )
    assert header.startswith(f"__Host-gh_session_{tenant.id.lower()}=")
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
    assert "Domain=" not in header and "Path=/" in header


def test_audit_names_the_user_on_success(app, tenant, user, tenant_client):
    sign_in(tenant_client(tenant), "ada@example.com", DEFAULT_PASSWORD)
    with app.app_context():
        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "login.succeeded")
        )
        assert event.target_id == user.id and event.actor_id == user.id
        assert event.ip == "127.0.0.1"
