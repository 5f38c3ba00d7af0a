"""/account/organizations: my organizations (switch, leave) and my other tenants."""

import pytest

from app.extensions import db
from app.models import AuditEvent
from app.models import BrowserSession
from app.models import User
from app.services import orgs
from app.services import sessions as sessions_service
from app.services import tenants as tenants_service
from app.tenancy import scope
from app.web.tenant_hints import COOKIE
from tests.conftest import BASE_DOMAIN
from tests.conftest import DEFAULT_PASSWORD
from tests.support.accounts import sign_in
from tests.support.http import TenantClient

PAGE = "/account/organizations"


def _t(slug="acme-corp"):
    return tenants_service.get_tenant(slug)


@pytest.fixture
def two_orgs(app, tenant, user):
    """Ada is owner of Blue and member of Green; returns their ids."""
    with app.app_context():
        acme = _t()
        ada = scope(acme).first(User, User.email == "ada@example.com")
        blue, green = orgs.create_org(acme, "Blue"), orgs.create_org(acme, "Green")
        orgs.add_member(acme, blue, ada, roles=["owner"])
        orgs.add_member(acme, green, ada, roles=["member"])
        db.session.commit()
        return blue.id, green.id


@pytest.fixture
def ada(tenant_client, tenant, user):
    browser = tenant_client(tenant)
    sign_in(browser, "ada@example.com", DEFAULT_PASSWORD)
    return browser


def _active_org(app):
    with app.app_context():
        return scope(_t()).first(BrowserSession, BrowserSession.ended_at.is_(None)).active_org_id


def test_lists_my_organizations_with_roles(ada, two_orgs):
    html = ada.get(PAGE).get_data(as_text=True)
    assert "Blue" in html and "Green" in html and "owner" in html
    assert "Switch to Blue" in html and "Leave" in html


def test_anonymous_is_sent_to_sign_in(tenant_client, tenant):
    response = tenant_client(tenant).get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_switch_sets_the_sessions_active_org_and_is_audited(app, ada, two_orgs):
    blue, _green = two_orgs
    response = ada.submit(f"{PAGE}/{blue}/switch", {}, form_path=PAGE)
    assert response.status_code == 302
    assert _active_org(app) == blue
    html = ada.get(PAGE).get_data(as_text=True)
    assert "acting in Blue" in html and "badge-ok" in html
    with app.app_context():
        event = scope(_t()).first(AuditEvent, AuditEvent.action == "org.switched")
        assert event.data["after"] == blue and event.actor_type == "user"
    ada.submit(f"{PAGE}/clear", {}, form_path=PAGE)
    assert _active_org(app) is None


def test_switching_to_a_foreign_or_unjoined_org_is_refused(app, ada, two_orgs, other_tenant):
    with app.app_context():
        theirs = orgs.create_org(_t("globex"), "Globex Team")
        outsider = orgs.create_org(_t(), "Not Mine")
        db.session.commit()
    assert ada.submit(f"{PAGE}/{theirs.id}/switch", {}, form_path=PAGE).status_code == 404
    assert ada.submit(f"{PAGE}/{outsider.id}/switch", {}, form_path=PAGE).status_code == 403
    assert _active_org(app) is None


def test_switch_without_csrf_changes_nothing(app, ada, two_orgs):
    blue, _ = two_orgs
    assert ada.post(f"{PAGE}/{blue}/switch").status_code == 400
    assert _active_org(app) is None


def test_leave_asks_first_then_leaves(app, ada, two_orgs):
    blue, green = two_orgs
    ada.submit(f"{PAGE}/{green}/switch", {}, form_path=PAGE)
    confirm = ada.get(f"{PAGE}/{green}/leave")
    assert confirm.status_code == 200 and "Leave Green?" in confirm.get_data(as_text=True)
    left = ada.submit(f"{PAGE}/{green}/leave", {})
    assert left.status_code == 302
    html = ada.get(PAGE).get_data(as_text=True)
    assert "You left Green." in html and "Switch to Green" not in html
    assert _active_org(app) is None  # leaving the active org clears it
    with app.app_context():
        assert scope(_t()).first(AuditEvent, AuditEvent.action == "org.left") is not None


def test_the_last_owner_cannot_leave(ada, two_orgs):
    blue, _ = two_orgs
    ada.submit(f"{PAGE}/{blue}/leave", {})
    html = ada.get(PAGE).get_data(as_text=True)
    assert "last owner" in html and "Switch to Blue" in html


# --- my other tenants -----------------------------------------------------------------


def _browser(app):
    """One browser (cookie jar) and a client per tenant host."""
    raw = app.test_client()
    return lambda slug: TenantClient(raw, f"{slug}.{BASE_DOMAIN}")


def test_other_tenants_lists_live_sessions_of_this_browser(
    app, tenant, other_tenant, make_user, user
):
    make_user(other_tenant, "ada@example.com")
    at = _browser(app)
    sign_in(at("acme-corp"), "ada@example.com", DEFAULT_PASSWORD)
    assert "not signed in to any other" in at("acme-corp").get(PAGE).get_data(as_text=True)
    sign_in(at("globex"), "ada@example.com", DEFAULT_PASSWORD)
    html = at("acme-corp").get(PAGE).get_data(as_text=True)
    assert "Globex" in html and 'href="http://globex.gatehouse.test/account"' in html
    # ...and the other way round.
    assert "Acme Corp" in at("globex").get(PAGE).get_data(as_text=True)

    # Signing out at Globex removes it from Acme's list.
    at("globex").submit("/logout", {})
    html = at("acme-corp").get(PAGE).get_data(as_text=True)
    assert "globex.gatehouse.test" not in html


def test_ended_sessions_and_forged_hints_are_not_listed(app, tenant, other_tenant, make_user, user):
    make_user(other_tenant, "ada@example.com")
    at = _browser(app)
    sign_in(at("acme-corp"), "ada@example.com", DEFAULT_PASSWORD)
    sign_in(at("globex"), "ada@example.com", DEFAULT_PASSWORD)
    with app.app_context():  # e.g. "sign out everywhere" at Globex, seen from Acme
        globex = _t("globex")
        sessions_service.end_user_sessions(globex, scope(globex).first(User).id)
        db.session.commit()
    assert "globex.gatehouse.test" not in at("acme-corp").get(PAGE).get_data(as_text=True)

    browser = at("acme-corp")
    browser.client.set_cookie(COOKIE, "forged.value", domain=BASE_DOMAIN)
    assert browser.get(PAGE).status_code == 200


def test_hint_cookie_spans_subdomains_and_is_signed(app, tenant, user):
    browser = _browser(app)("acme-corp")
    response = sign_in(browser, "ada@example.com", DEFAULT_PASSWORD)
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE))
    assert "Domain=gatehouse.test" in header and "HttpOnly" in header and "SameSite=Lax" in header
    value = header.split(";", 1)[0].split("=", 1)[1]
    with app.test_request_context():
        from app.web.tenant_hints import _serializer

        [[tenant_id, session_id]] = _serializer().loads(value)  # signed with SECRET_KEY
    assert tenant_id == tenant.id and session_id.startswith("ses_")


def test_path_routing_shares_the_hint_on_the_base_host(app, tenant, other_tenant, make_user, user):
    make_user(other_tenant, "ada@example.com")
    raw = app.test_client()
    acme = TenantClient(raw, BASE_DOMAIN, prefix="/t/acme-corp")
    globex = TenantClient(raw, BASE_DOMAIN, prefix="/t/globex")
    sign_in(acme, "ada@example.com", DEFAULT_PASSWORD)
    response = sign_in(globex, "ada@example.com", DEFAULT_PASSWORD)
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE))
    assert "Domain=" not in header  # host-only: every /t/<slug> is on this host already
    html = acme.get(PAGE).get_data(as_text=True)
    assert f'href="http://{BASE_DOMAIN}/t/globex/account"' in html  # where that session lives


@pytest.mark.config(BASE_DOMAIN="localhost:5000")
def test_dotless_base_domain_keeps_the_hint_host_only(app, tenant, user):
    browser = TenantClient(app.test_client(), "acme-corp.localhost:5000")
    response = sign_in(browser, "ada@example.com", DEFAULT_PASSWORD)
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE))
    assert "Domain=" not in header  # browsers drop Domain=localhost cookies altogether
