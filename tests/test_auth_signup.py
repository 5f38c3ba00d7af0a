"""Self sign-up and email verification."""

import pytest

from app.extensions import db
from app.models import OutboxMessage
from app.models import User
from tests.support.auth import audit_actions
from tests.support.auth import sign_in
from tests.support.smtp import link_in

GOOD_PASSWORD = "plum tractor lantern 42"


def signup(client, email="grace@example.com", password=GOOD_PASSWORD, name="Grace Hopper", **kw):
    return client.submit("/signup", {"email": email, "password": password, "name": name, **kw})


def user_row(app, tenant, email):
    with app.app_context():
        row = db.session.scalar(
            db.select(User).where(User.tenant_id == tenant.id, User.email == email)
        )
        db.session.expunge_all()
        return row


def test_signup_page_has_the_stable_field_names(tenant, tenant_client):
    html = tenant_client(tenant).get("/signup").get_data(as_text=True)
    for name in ("name", "email", "password", "csrf_token"):
        assert f'name="{name}"' in html


def test_open_signup_creates_the_account_and_signs_in(app, tenant, tenant_client, smtp_server):
    client = tenant_client(tenant)
    response = signup(client, email="Grace@Example.com")
    assert response.status_code == 302 and response.headers["Location"] == "/account/"
    assert "grace@example.com" in client.get("/account").get_data(as_text=True)
    row = user_row(app, tenant, "grace@example.com")
    assert row.name == "Grace Hopper" and not row.email_verified
    assert "signup" in audit_actions(app, tenant)

    # The verification mail arrives over real SMTP; following its link verifies.
    message = smtp_server.wait_for("grace@example.com", subject_contains="Confirm")
    assert "Acme Corp" in str(message["From"])
    link = link_in(message)
    assert link.startswith("http://acme-corp.gatehouse.test/email/verify/")
    response = client.get(link.removeprefix("http://acme-corp.gatehouse.test"))
    assert response.status_code == 302
    assert user_row(app, tenant, "grace@example.com").email_verified
    # Single use.
    again = client.get(link.removeprefix("http://acme-corp.gatehouse.test"))
    assert again.status_code == 400 and "invalid or has expired" in again.get_data(as_text=True)


def test_signup_follows_next(tenant, tenant_client):
    client = tenant_client(tenant)
    response = signup(client, next="/oauth2/authorize?client_id=cli_1")
    assert response.headers["Location"] == "/oauth2/authorize?client_id=cli_1"


def test_signup_errors_are_inline_and_keep_typed_values(tenant, user, tenant_client):
    client = tenant_client(tenant)
    response = signup(client, email="not-an-email", password="short", name="Grace")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="not-an-email"' in html and 'value="Grace"' in html
    assert 'id="email-error"' in html
    assert 'value="short"' not in html

    response = signup(client, email="grace@example.com", password="password123")
    html = response.get_data(as_text=True)
    assert 'id="password-error"' in html and "too common" in html

    response = signup(client, email="ada@example.com")
    assert "already exists" in response.get_data(as_text=True)


def test_signup_refuses_passwords_containing_the_email(tenant, tenant_client):
    response = signup(
        tenant_client(tenant), email="gracehopper@example.com", password="my gracehopper pass"
    )
    assert "email address" in response.get_data(as_text=True)


def test_allowed_email_domains(make_tenant, tenant_client):
    tenant = make_tenant("acme-corp", "Acme Corp", allowed_email_domains=["acme.example.com"])
    client = tenant_client(tenant)
    response = signup(client, email="grace@example.com")
    assert response.status_code == 422
    assert "limited to addresses at acme.example.com" in response.get_data(as_text=True)
    assert signup(client, email="grace@acme.example.com").status_code == 302


@pytest.mark.parametrize("mode", ["invite_only", "closed"])
def test_signup_off_unless_open(make_tenant, tenant_client, mode):
    tenant = make_tenant("acme-corp", "Acme Corp", signup_mode=mode)
    client = tenant_client(tenant)
    page = client.get("/signup")
    assert page.status_code == 403
    assert "Sign up" not in client.get("/login").get_data(as_text=True).split("<main")[0]
    response = client.post("/signup", data={"email": "x@example.com", "password": GOOD_PASSWORD})
    assert response.status_code in (400, 403)


def test_system_tenant_has_no_self_signup(app, client):
    assert client.get("/signup", base_url="http://gatehouse.test").status_code == 403


def test_required_verification_blocks_sign_in_until_confirmed(app, make_tenant, tenant_client):
    tenant = make_tenant("acme-corp", "Acme Corp", require_email_verification=True)
    client = tenant_client(tenant)
    response = signup(client)
    assert response.status_code == 200
    assert "Check your email" in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302  # not signed in

    response = sign_in(client, "grace@example.com", GOOD_PASSWORD)
    html = response.get_data(as_text=True)
    assert response.status_code == 403 and "Confirm your email address first" in html
    assert "Send a new confirmation link" in html
    # A wrong password says nothing about verification.
    wrong = sign_in(client, "grace@example.com", "wrong password 123").get_data(as_text=True)
    assert "Confirm your email" not in wrong

    # Resend: a second message in the dev outbox; the first link is retired.
    sign_in(client, "grace@example.com", GOOD_PASSWORD)
    response = client.submit("/email/verify/resend", {}, form_path="/login")
    assert response.status_code == 200
    with app.app_context():
        bodies = [
            m.body_text
            for m in db.session.scalars(
                db.select(OutboxMessage)
                .where(OutboxMessage.to == "grace@example.com")
                .order_by(OutboxMessage.id)  # ULIDs: the order they were queued in
            )
        ]
    assert len(bodies) == 2
    first, second = (b.split("/email/verify/")[1].split()[0] for b in bodies)
    assert client.get(f"/email/verify/{first}").status_code == 400
    assert client.get(f"/email/verify/{second}").status_code == 302
    assert sign_in(client, "grace@example.com", GOOD_PASSWORD).status_code == 302


def test_duplicate_signup_with_verification_does_not_reveal_the_account(
    app, make_tenant, make_user, tenant_client
):
    tenant = make_tenant("acme-corp", "Acme Corp", require_email_verification=True)
    make_user(tenant, "ada@example.com")
    client = tenant_client(tenant)
    existing = signup(client, email="ada@example.com")
    fresh = signup(tenant_client(tenant), email="new@example.com")
    assert existing.status_code == fresh.status_code == 200
    assert "Check your email" in existing.get_data(as_text=True)
    with app.app_context():
        subjects = [
            m.subject
            for m in db.session.scalars(
                db.select(OutboxMessage).where(OutboxMessage.to == "ada@example.com")
            )
        ]
    assert subjects == ["You already have a Acme Corp account"]


def test_bad_verification_token_is_a_clear_page(tenant, tenant_client):
    response = tenant_client(tenant).get("/email/verify/not-a-real-token")
    assert response.status_code == 400
    assert "invalid or has expired" in response.get_data(as_text=True)
