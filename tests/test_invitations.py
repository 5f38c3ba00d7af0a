"""Invitations: the lifecycle through a real SMTP server, the acceptance page's cases,
single use, resend and revoke, and isolation between tenants."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from app.extensions import db
from app.models import AuditEvent
from app.models import Invitation
from app.models import User
from app.services import invitations
from app.services import orgs
from app.services import roles
from app.services import tenants as tenants_service
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.tenancy import scope
from tests.conftest import DEFAULT_PASSWORD
from tests.support.accounts import sign_in
from tests.support.smtp import link_in

NEW_PASSWORD = "a long and unusual passphrase 42"


def _t(slug="acme-corp"):
    return tenants_service.get_tenant(slug)


def _invite(app, slug="acme-corp", email="newbie@example.com", **kwargs):
    """Create an invitation (org given by slug); returns (invitation id, token)."""
    with app.app_context():
        tenant = _t(slug)
        if "org" in kwargs:
            kwargs["org_id"] = orgs.get_org(tenant, kwargs.pop("org")).id
        inv, token = invitations.create_invitation(tenant, email, **kwargs)
        db.session.commit()
        return inv.id, token


def _path(token):
    return f"/invitations/{token}"


def _user(app, slug, email):
    with app.app_context():
        return scope(_t(slug)).first(User, User.email == email)


def test_lifecycle_through_real_mail(app, tenant, tenant_client, smtp_server):
    with app.app_context():
        orgs.create_org(_t(), "Acme Engineering", slug="engineering")
        db.session.commit()
    _invite(
        app, email="Newbie@Example.com", roles=["member"], org="engineering", org_roles=["admin"]
    )

    message = smtp_server.wait_for("newbie@example.com")
    assert "Acme Engineering at Acme Corp" in str(message["Subject"])
    link = urlsplit(link_in(message, r"http://\S+/invitations/\S+"))
    assert link.netloc == "acme-corp.gatehouse.test"  # the tenant's own origin

    browser = tenant_client(tenant)
    page = browser.get(link.path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "newbie@example.com" in html and "Acme Engineering" in html and "Acme Corp" in html
    assert 'name="name"' in html and 'name="password"' in html and "email" not in _names(html)

    accepted = browser.submit(link.path, {"name": "Nina Newbie", "password": NEW_PASSWORD})
    assert accepted.status_code == 302
    assert accepted.headers["Location"].endswith("/account/organizations")
    orgs_page = browser.get("/account/organizations").get_data(as_text=True)
    assert "Acme Engineering" in orgs_page and "admin" in orgs_page

    user = _user(app, "acme-corp", "newbie@example.com")
    assert user.name == "Nina Newbie" and user.email_verified
    with app.app_context():
        assert roles.tenant_role_names(_t(), user) == ["member"]
        inv = scope(_t()).first(Invitation)
        assert inv.accepted_by == user.id and invitations.status_of(inv) == "accepted"
        actions = [e.action for e in scope(_t()).all(AuditEvent)]
        assert "invitation.created" in actions and "invitation.accepted" in actions

    # Single use: the link now says so, for anyone.
    again = tenant_client(tenant).get(link.path)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)

    # The new password signs in on the hosted login page.
    sign_in(tenant_client(tenant), "newbie@example.com", NEW_PASSWORD)


def _names(html):
    return re.findall(r'name="([^"]+)"', html)


@pytest.mark.parametrize("mode", ["invite_only", "closed"])
def test_invitations_work_when_signup_is_restricted(app, make_tenant, tenant_client, mode):
    shop = make_tenant("shop", "Shop", signup_mode=mode)
    _id, token = _invite(app, "shop", "guest@example.com")
    browser = tenant_client(shop)
    response = browser.submit(_path(token), {"name": "Gus", "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert _user(app, "shop", "guest@example.com") is not None


def test_weak_password_keeps_the_invitation_usable(app, tenant, tenant_client):
    _id, token = _invite(app)
    browser = tenant_client(tenant)
    response = browser.submit(_path(token), {"name": "N", "password": "short"})
    assert response.status_code == 400
    assert "at least" in response.get_data(as_text=True)
    assert _user(app, "acme-corp", "newbie@example.com") is None
    ok = browser.submit(_path(token), {"name": "N", "password": NEW_PASSWORD})
    assert ok.status_code == 302


def test_signed_in_invitee_accepts_with_a_button(app, tenant, tenant_client, make_user):
    make_user(tenant, "ada@example.com", roles=("member",))
    with app.app_context():
        orgs.create_org(_t(), "Design")
        db.session.commit()
    _id, token = _invite(app, email="ada@example.com", roles=["admin"], org="design")
    browser = tenant_client(tenant)
    anonymous = browser.get(_path(token)).get_data(as_text=True)
    assert "already have an account" in anonymous and 'name="password"' not in anonymous
    sign_in(browser, "ada@example.com", DEFAULT_PASSWORD)
    page = browser.get(_path(token)).get_data(as_text=True)
    assert "Accept invitation" in page and 'name="password"' not in page
    assert browser.submit(_path(token), {}).status_code == 302
    ada = _user(app, "acme-corp", "ada@example.com")
    with app.app_context():
        assert roles.tenant_role_names(_t(), ada) == ["admin", "member"]  # added, not replaced
        design = orgs.get_org(_t(), "design")
        assert roles.org_role_names(_t(), ada, design.id) == ["member"]


def test_signed_in_as_someone_else_is_told_and_can_sign_out(app, tenant, tenant_client, user):
    _id, token = _invite(app, email="bob@example.com")
    browser = tenant_client(tenant)
    sign_in(browser, "ada@example.com", DEFAULT_PASSWORD)
    html = browser.get(_path(token)).get_data(as_text=True)
    assert "signed in as <strong>ada@example.com</strong>" in html
    assert "sent to <strong>bob@example.com</strong>" in html
    # Posting anyway changes nothing.
    refused = browser.submit(_path(token), {})
    assert refused.status_code == 403
    assert _user(app, "acme-corp", "bob@example.com") is None
    out = browser.submit(f"{_path(token)}/sign-out", {}, form_path=_path(token))
    assert out.status_code == 302
    assert 'name="password"' in browser.get(_path(token)).get_data(as_text=True)


def test_resend_kills_the_old_link_and_revoke_kills_the_new(app, tenant, tenant_client):
    inv_id, old = _invite(app)
    with app.app_context():
        inv = invitations.get_invitation(_t(), inv_id)
        first_expiry = inv.expires_at
        new = invitations.resend_invitation(_t(), inv)
        assert inv.expires_at >= first_expiry
        db.session.commit()
    browser = tenant_client(tenant)
    assert browser.get(_path(old)).status_code == 404
    assert browser.get(_path(new)).status_code == 200
    with app.app_context():
        invitations.revoke_invitation(_t(), invitations.get_invitation(_t(), inv_id))
        db.session.commit()
        assert [i.id for i in invitations.list_invitations(_t(), "revoked")] == [inv_id]
        actions = [e.action for e in scope(_t()).all(AuditEvent)]
        assert "invitation.resent" in actions and "invitation.revoked" in actions
    revoked = browser.get(_path(new))
    assert revoked.status_code == 410 and "withdrawn" in revoked.get_data(as_text=True)
    posted = browser.submit(_path(new), {"password": NEW_PASSWORD}, form_path="/login")
    assert posted.status_code == 410
    assert _user(app, "acme-corp", "newbie@example.com") is None


def test_expired_link_is_refused(app, tenant, tenant_client):
    inv_id, token = _invite(app)
    with app.app_context():
        inv = invitations.get_invitation(_t(), inv_id)
        inv.expires_at = inv.expires_at - timedelta(days=8)
        db.session.commit()
        assert invitations.list_invitations(_t(), "expired")[0].id == inv_id
        with pytest.raises(ValidationFailed):
            invitations.list_invitations(_t(), "sideways")
    page = tenant_client(tenant).get(_path(token))
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)


def test_an_invitation_of_a_cannot_be_accepted_at_b(app, tenant, other_tenant, tenant_client):
    inv_id, token = _invite(app, "acme-corp", "roamer@example.com")
    at_b = tenant_client(other_tenant)
    page = at_b.get(_path(token))
    assert page.status_code == 404 and "not valid here" in page.get_data(as_text=True)
    posted = at_b.submit(_path(token), {"password": NEW_PASSWORD}, form_path="/login")
    assert posted.status_code == 404
    assert _user(app, "globex", "roamer@example.com") is None
    assert _user(app, "acme-corp", "roamer@example.com") is None
    with app.app_context():
        assert invitations.find_by_token(_t("globex"), token) is None
        with pytest.raises(NotFound):
            invitations.get_invitation(_t("globex"), inv_id)
        with pytest.raises(NotFound):
            invitations.accept_invitation(_t("globex"), token, password=NEW_PASSWORD)
        assert invitations.status_of(invitations.get_invitation(_t(), inv_id)) == "pending"


def test_same_email_in_another_tenant_stays_a_separate_account(
    app, tenant, other_tenant, tenant_client, make_user
):
    make_user(other_tenant, "ada@example.com")
    _id, token = _invite(app, "acme-corp", "ada@example.com")
    assert tenant_client(tenant).submit(_path(token), {"password": NEW_PASSWORD}).status_code == 302
    at_a, at_b = _user(app, "acme-corp", "ada@example.com"), _user(app, "globex", "ada@example.com")
    assert at_a.id != at_b.id and at_a.tenant_id != at_b.tenant_id


def test_create_invitation_validates_roles_and_org(app, tenant, other_tenant):
    with app.app_context():
        theirs = orgs.create_org(_t("globex"), "Globex Org")
        acme = _t()
        cases = [
            ({"roles": ["owner"]}, "roles"),  # an org role is not a tenant role
            ({"org_id": theirs.id}, "org_id"),
            ({"org_roles": ["admin"]}, "org_roles"),  # org roles without an org
        ]
        for kwargs, field in cases:
            with pytest.raises(ValidationFailed) as exc:
                invitations.create_invitation(acme, "x@example.com", **kwargs)
            assert field in exc.value.errors
        with pytest.raises(ValidationFailed):
            invitations.create_invitation(acme, "not-an-email")
        ours = orgs.create_org(acme, "Ours")
        inv, _ = invitations.create_invitation(acme, "x@example.com", org_id="ours")
        assert (inv.org_id, inv.roles, inv.org_roles) == (ours.id, ["member"], ["member"])


def test_accepted_invitations_cannot_be_revoked_or_resent(app, tenant):
    inv_id, token = _invite(app)
    with app.app_context():
        acme = _t()
        invitations.accept_invitation(acme, token, name="N", password=NEW_PASSWORD)
        inv = invitations.get_invitation(acme, inv_id)
        with pytest.raises(ValidationFailed):
            invitations.revoke_invitation(acme, inv)
        with pytest.raises(ValidationFailed):
            invitations.resend_invitation(acme, inv)
        with pytest.raises(invitations.InvitationUnusable):
            invitations.accept_invitation(acme, token, name="N", password=NEW_PASSWORD)
