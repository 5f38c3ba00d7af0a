"""Where areas meet: domain auto-join on verification, the account page's apps section."""

from app.extensions import db
from app.models import OutboxMessage
from app.services import orgs
from tests.support.smtp import link_in_text


def test_verifying_an_email_at_an_org_domain_joins_that_org(app, tenant, tenant_client):
    with app.app_context():
        org = orgs.create_org(tenant, "Widgets", domains=["widgets.example.com"])
        db.session.commit()
        org_id = org.id
    client = tenant_client(tenant)
    response = client.submit(
        "/signup",
        {
            "email": "kim@widgets.example.com",
            "password": "a long unusual passphrase",
            "name": "Kim",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        message = db.session.scalar(
            db.select(OutboxMessage).where(OutboxMessage.to == "kim@widgets.example.com")
        )
    link = link_in_text(message.body_text)
    assert client.get(link.removeprefix("http://acme-corp.gatehouse.test")).status_code == 302
    # Before verification there was no membership; the verified address joined.
    page = client.get("/account/organizations").get_data(as_text=True)
    assert "Widgets" in page
    with app.app_context():
        from app.models import Membership

        members = db.session.scalars(db.select(Membership).where(Membership.org_id == org_id))
        assert len(list(members)) == 1


def test_account_page_lists_apps_and_links_organizations(app, tenant, user, tenant_client):
    client = tenant_client(tenant)
    response = client.submit(
        "/login", {"email": user.email, "password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    html = client.get("/account/").get_data(as_text=True)
    assert "Apps with access" in html
    assert 'href="/account/organizations"' in html
