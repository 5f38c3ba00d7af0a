"""Tenant isolation of the hosted pages: accounts, cookies and tokens never cross."""

from app.extensions import db
from app.models import OutboxMessage
from tests.support.auth import sign_in

ACME_PASSWORD = "acme only password 1"
GLOBEX_PASSWORD = "globex only password 2"


def two_accounts(make_user, tenant, other_tenant):
    make_user(tenant, "same@example.com", ACME_PASSWORD)
    make_user(other_tenant, "same@example.com", GLOBEX_PASSWORD)


def test_same_email_two_tenants_two_passwords(tenant, other_tenant, make_user, tenant_client):
    two_accounts(make_user, tenant, other_tenant)
    assert sign_in(tenant_client(tenant), "same@example.com", ACME_PASSWORD).status_code == 302
    assert (
        sign_in(tenant_client(other_tenant), "same@example.com", GLOBEX_PASSWORD).status_code == 302
    )
    # A's credentials are rejected at B, and the other way round.
    assert (
        sign_in(tenant_client(other_tenant), "same@example.com", ACME_PASSWORD).status_code == 401
    )
    assert sign_in(tenant_client(tenant), "same@example.com", GLOBEX_PASSWORD).status_code == 401


def test_a_user_of_a_alone_cannot_sign_in_at_b(tenant, other_tenant, user, tenant_client):
    from tests.conftest import DEFAULT_PASSWORD

    response = sign_in(tenant_client(other_tenant), "ada@example.com", DEFAULT_PASSWORD)
    assert response.status_code == 401


def test_session_cookie_of_a_is_not_accepted_at_b(tenant, other_tenant, make_user, tenant_client):
    two_accounts(make_user, tenant, other_tenant)
    at_a = tenant_client(tenant)
    sign_in(at_a, "same@example.com", ACME_PASSWORD)
    value = at_a.cookie(f"gh_session_{tenant.id.lower()}").value

    at_b = tenant_client(other_tenant)
    # Under A's cookie name and under B's: neither signs anyone in at B.
    at_b.client.set_cookie(f"gh_session_{tenant.id.lower()}", value, domain=at_b.host)
    assert at_b.get("/account").status_code == 302
    at_b.client.set_cookie(f"gh_session_{other_tenant.id.lower()}", value, domain=at_b.host)
    assert at_b.get("/account").status_code == 302
    assert "same@example.com" not in at_b.get("/").get_data(as_text=True)


def test_path_form_tenants_on_one_host_keep_separate_sessions(
    tenant, other_tenant, make_user, tenant_client
):
    two_accounts(make_user, tenant, other_tenant)
    at_a = tenant_client(tenant, path_form=True)
    sign_in(at_a, "same@example.com", ACME_PASSWORD)
    assert at_a.get("/account").status_code == 200
    # The same browser (cookie jar) at B's path prefix is anonymous.
    from tests.support.http import TenantClient

    at_b = TenantClient(at_a.client, at_a.host, prefix=f"/t/{other_tenant.slug}")
    assert at_b.get("/account").status_code == 302


def test_reset_token_of_a_is_rejected_at_b(app, tenant, other_tenant, make_user, tenant_client):
    two_accounts(make_user, tenant, other_tenant)
    tenant_client(tenant).submit("/password/forgot", {"email": "same@example.com"})
    with app.app_context():
        body = db.session.scalar(
            db.select(OutboxMessage.body_text).where(OutboxMessage.tenant_id == tenant.id)
        )
    token = body.split("/password/reset/")[1].split()[0]
    at_b = tenant_client(other_tenant)
    assert at_b.get(f"/password/reset/{token}").status_code == 400
    response = at_b.submit(
        f"/password/reset/{token}", {"password": "hijacked password 99"}, form_path="/login"
    )
    assert response.status_code == 400
    assert (
        sign_in(tenant_client(other_tenant), "same@example.com", GLOBEX_PASSWORD).status_code == 302
    )
    # Still good at A.
    assert tenant_client(tenant).get(f"/password/reset/{token}").status_code == 200


def test_verification_token_of_a_is_rejected_at_b(app, tenant, other_tenant, tenant_client):
    tenant_client(tenant).submit(
        "/signup", {"email": "new@example.com", "password": "plum tractor lantern 42"}
    )
    with app.app_context():
        body = db.session.scalar(
            db.select(OutboxMessage.body_text).where(OutboxMessage.tenant_id == tenant.id)
        )
    token = body.split("/email/verify/")[1].split()[0]
    assert tenant_client(other_tenant).get(f"/email/verify/{token}").status_code == 400
    assert tenant_client(tenant).get(f"/email/verify/{token}").status_code == 302
