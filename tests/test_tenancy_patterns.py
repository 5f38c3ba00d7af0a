"""The three patterns of the tenancy model, end to end over HTTP: B2B (a tenant per
customer, created with an owner), a single-tenant app (organizations inside one tenant,
org_id in tokens), and a consumer app with workspaces (one person, two tenants, two
accounts, two refresh tokens that each refresh only in their own tenant)."""

from urllib.parse import urlsplit

from app.extensions import db
from app.models import User
from app.services import invitations
from app.services import onboarding
from app.services import orgs
from app.services import tenants as tenants_service
from app.tenancy import scope
from tests.conftest import BASE_DOMAIN
from tests.conftest import DEFAULT_PASSWORD
from tests.support.accounts import sign_in
from tests.support.http import TenantClient
from tests.support.oauth import claims_of
from tests.support.oauth import login_tokens
from tests.support.oauth import make_client
from tests.support.oauth import refresh
from tests.support.smtp import link_in

PASSWORD = "a long and unusual passphrase 42"
OFFLINE = "openid profile email offline_access"


def _t(slug):
    return tenants_service.get_tenant(slug)


def test_b2b_a_tenant_per_customer_created_with_an_owner(app, tenant_client, smtp_server):
    with app.app_context():
        for slug, name, owner in (
            ("initech", "Initech", "boss@initech.example"),
            ("umbrella", "Umbrella", "ceo@umbrella.example"),
        ):
            onboarding.invite_owner(tenants_service.create_tenant(name, slug), owner)
        db.session.commit()
    initech = _t_outside(app, "initech")

    link = urlsplit(link_in(smtp_server.wait_for("boss@initech.example"), r"http://\S+"))
    assert link.netloc == f"initech.{BASE_DOMAIN}"
    browser = tenant_client(initech)
    accepted = browser.submit(link.path, {"name": "Bill Lumbergh", "password": PASSWORD})
    assert accepted.status_code == 302
    assert "boss@initech.example" in browser.get("/account").get_data(as_text=True)

    # The owner signs in afresh, holds `admin`, and it is in their tokens.
    fresh = tenant_client(initech)
    sign_in(fresh, "boss@initech.example", PASSWORD)
    claims = claims_of(login_tokens(fresh, make_client(app, initech))["access_token"])
    assert claims["iss"] == f"http://initech.{BASE_DOMAIN}"
    assert claims["tenant_id"] == initech.id and "admin" in claims["roles"]

    # The other customer's tenant does not know them.
    umbrella = tenant_client(_t_outside(app, "umbrella"))
    refused = umbrella.submit("/login", {"email": "boss@initech.example", "password": PASSWORD})
    assert refused.status_code != 302


def _t_outside(app, slug):
    with app.app_context():
        return _t(slug)


def test_single_tenant_app_with_organizations_in_tokens(app, tenant, other_tenant, tenant_client):
    with app.app_context():
        acme = _t("acme-corp")
        ada = scope(acme).first(User, User.email == "ada@example.com") or None
        blue, green = orgs.create_org(acme, "Blue"), orgs.create_org(acme, "Green")
        outside = orgs.create_org(acme, "Outside")
        foreign = orgs.create_org(_t("globex"), "Globex Team")
        _inv, token = invitations.create_invitation(
            acme, "ada@example.com", roles=["member"], org_id=blue.id, org_roles=["admin"]
        )
        db.session.commit()
    assert ada is None
    browser = tenant_client(tenant)
    assert browser.submit(f"/invitations/{token}", {"password": PASSWORD}).status_code == 302
    with app.app_context():
        acme = _t("acme-corp")
        orgs.add_member(acme, orgs.get_org(acme, green.id), scope(acme).first(User), ["owner"])
        db.session.commit()
    client = make_client(app, tenant, scope=OFFLINE)

    plain = login_tokens(browser, client, scope=OFFLINE)
    assert "org_id" not in claims_of(plain["access_token"])
    assert claims_of(plain["access_token"])["roles"] == ["member"]

    chosen = login_tokens(browser, client, scope=OFFLINE, organization=blue.id)
    access, id_token = claims_of(chosen["access_token"]), claims_of(chosen["id_token"])
    assert access["org_id"] == id_token["org_id"] == blue.id
    assert sorted(access["roles"]) == ["admin", "member"]

    # Switching on the refresh grant mints tokens for the other organization.
    switched = refresh(browser, client, chosen["refresh_token"], organization=green.id)
    assert switched.status_code == 200, switched.get_json()
    claims = claims_of(switched.get_json()["access_token"])
    assert claims["org_id"] == green.id and sorted(claims["roles"]) == ["member", "owner"]

    # A non-member, or another tenant's organization, gets an OAuth error, never a token.
    for org_id in (outside.id, foreign.id):
        response = refresh(
            browser, client, switched.get_json()["refresh_token"], organization=org_id
        )
        assert response.status_code == 400 and "access_token" not in response.get_json()
        assert response.get_json()["error"] == "invalid_request"

    # Switching on /account makes it the session's active organization for the next sign-in.
    browser.submit(
        f"/account/organizations/{green.id}/switch", {}, form_path="/account/organizations"
    )
    claims = claims_of(login_tokens(browser, client, scope=OFFLINE)["access_token"])
    assert claims["org_id"] == green.id


def test_consumer_workspaces_one_person_two_accounts_two_refresh_tokens(
    app, make_tenant, tenant_client
):
    home, work = make_tenant("home-ws", "Home"), make_tenant("work-ws", "Work")
    raw = app.test_client()  # one browser for both workspaces
    at = {t.slug: TenantClient(raw, f"{t.slug}.{BASE_DOMAIN}") for t in (home, work)}
    tokens, clients = {}, {}
    for workspace in (home, work):
        with app.app_context():
            _inv, token = invitations.create_invitation(_t(workspace.slug), "pat@example.com")
            db.session.commit()
        browser = at[workspace.slug]
        assert browser.submit(f"/invitations/{token}", {"password": PASSWORD}).status_code == 302
        clients[workspace.slug] = make_client(app, workspace, scope=OFFLINE)
        tokens[workspace.slug] = login_tokens(browser, clients[workspace.slug], scope=OFFLINE)

    with app.app_context():
        users = [scope(_t(s)).first(User, User.email == "pat@example.com") for s in at]
    assert users[0].id != users[1].id  # two separate accounts, one email
    subjects = {s: claims_of(tokens[s]["access_token"])["sub"] for s in at}
    assert subjects == {"home-ws": users[0].id, "work-ws": users[1].id}

    # Each refresh token refreshes only at its own tenant.
    crossed = refresh(at["work-ws"], clients["work-ws"], tokens["home-ws"]["refresh_token"])
    assert crossed.status_code == 400 and crossed.get_json()["error"] == "invalid_grant"
    for slug in at:
        again = refresh(at[slug], clients[slug], tokens[slug]["refresh_token"])
        assert again.status_code == 200, again.get_json()
        assert claims_of(again.get_json()["access_token"])["iss"] == f"http://{slug}.{BASE_DOMAIN}"

    # /account at one workspace links to the other, where this browser is signed in too.
    html = at["home-ws"].get("/account/organizations").get_data(as_text=True)
    assert f'href="http://work-ws.{BASE_DOMAIN}/account"' in html
    # Passwords are per account: changing nothing at Home, Work's sign-in is its own.
    sign_in(TenantClient(app.test_client(), f"work-ws.{BASE_DOMAIN}"), "pat@example.com", PASSWORD)
    assert DEFAULT_PASSWORD != PASSWORD
