"""The README example end to end: POST /v2/admin/tenants creates Acme Corp; the owner
gets the invitation through a real SMTP server, accepts it, signs in at the new tenant
and holds its ``admin`` role."""

from urllib.parse import urlsplit

from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.auth import sign_in
from tests.support.smtp import link_in

OWNER_PASSWORD = "owner passphrase that is long"


def test_create_tenant_then_owner_accepts_and_is_admin(app, smtp_server, tenant_client):
    api = Api(app, create_admin_key(app))
    response = api.post(
        "/tenants", json={"name": "Acme Corp", "slug": "acme-corp", "owner_email": "admin@acme.com"}
    )
    assert response.status_code == 201
    created = response.get_json()
    assert created["issuer"] == "http://acme-corp.gatehouse.test"

    message = smtp_server.wait_for("admin@acme.com")
    link = urlsplit(link_in(message, r"http://\S+/invitations/\S+"))
    assert link.netloc == "acme-corp.gatehouse.test"  # the new tenant's own origin

    class _Tenant:  # what tenant_client needs: the host of the new tenant
        slug = created["slug"]
        is_system = False

    browser = tenant_client(_Tenant)
    page = browser.get(link.path)
    assert page.status_code == 200 and "admin@acme.com" in page.get_data(as_text=True)
    accepted = browser.submit(link.path, {"name": "Ada Owner", "password": OWNER_PASSWORD})
    assert accepted.status_code == 302

    # A fresh browser signs in with the new account at the new tenant.
    fresh = tenant_client(_Tenant)
    signed_in = sign_in(fresh, "admin@acme.com", OWNER_PASSWORD)
    assert signed_in.status_code == 302
    assert fresh.cookie(f"gh_session_{created['id'].lower()}") is not None
    # ... and the tenant's admin console opens for them.
    console = fresh.get("/admin/overview")
    assert console.status_code == 200 and "Acme Corp" in console.get_data(as_text=True)

    users = api.get("/tenants/acme-corp/users?q=admin@acme.com").get_json()["items"]
    assert [(u["email"], u["roles"], u["name"]) for u in users] == [
        ("admin@acme.com", ["admin"], "Ada Owner")
    ]
    invitation = api.get("/tenants/acme-corp/invitations").get_json()["items"][0]
    assert invitation["status"] == "accepted"
