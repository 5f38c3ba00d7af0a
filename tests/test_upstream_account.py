"""The account's linked identities: the list, unlink rules (another way in must remain),
the provider buttons on the hosted pages; and the secret on no page."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.models import User
from app.models.mfa import MfaFactor
from app.models.provider import LinkedIdentity
from tests.support.console import sign_in

SECRET = "page-secret-never-shown"


def provider(app, tenant, name="Corporate SSO", kind="oidc"):
    from app.services import providers

    with app.app_context():
        data = {"kind": kind, "name": name, "client_id": "acme", "client_secret": SECRET}
        if kind == "oidc":
            data["discovery_url"] = "https://sso.example.com/.well-known/openid-configuration"
        row = providers.create_provider(tenant, data)
        db.session.commit()
        return row.id


def link(app, tenant, user, provider_id, subject):
    from app.services import providers
    from app.services import upstream

    with app.app_context():
        row = providers.get_provider(tenant, provider_id)
        person = db.session.get(User, user.id)
        identity = upstream.link_identity(
            tenant, row, person, upstream.Profile(subject, person.email, True)
        )
        db.session.commit()
        return identity.id


@pytest.fixture
def sso(app, tenant):
    return provider(app, tenant)


def test_buttons_on_sign_in_and_sign_up_pages(tenant, tenant_client, sso):
    tc = tenant_client(tenant)
    for path in ("/login?next=/account", "/signup"):
        page = tc.get(path).get_data(as_text=True)
        assert "Continue with Corporate SSO" in page
        assert f"/login/providers/{sso}" in page and SECRET not in page


def test_no_buttons_without_providers(tenant, tenant_client):
    assert "Continue with" not in tenant_client(tenant).get("/login").get_data(as_text=True)


def test_unknown_provider_is_404(tenant, other_tenant, tenant_client, app):
    theirs = provider(app, other_tenant)
    tc = tenant_client(tenant)
    assert tc.get("/login/providers/idp_nope").status_code == 404
    assert tc.get(f"/login/providers/{theirs}").status_code == 404
    assert tc.get(f"/login/providers/{theirs}/callback?state=x&code=y").status_code == 404


def test_callback_without_a_started_flow_is_refused(tenant, tenant_client, sso, app):
    answer = tenant_client(tenant).get(f"/login/providers/{sso}/callback?state=forged&code=c")
    assert answer.status_code == 400
    assert "not started here" in answer.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "upstream.refused"))
        assert event.data["reason"] == "state_mismatch"


def test_last_way_in_cannot_be_unlinked(app, tenant, make_user, tenant_client, sso):
    user = make_user(tenant, "jit@example.com", password=None)
    identity = link(app, tenant, user, sso, "sub-1")
    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, user, amr=("fed",))
    page = tc.get("/account/identities").get_data(as_text=True)
    assert "Corporate SSO" in page and "Your only way to sign in" in page
    answer = tc.submit(
        f"/account/identities/{identity}/unlink", {}, form_path="/account/identities"
    )
    assert answer.status_code == 403
    with app.app_context():
        assert db.session.get(LinkedIdentity, identity) is not None

    # A second identity is another way in: now either may go.
    github = provider(app, tenant, "GitHub", "github")
    link(app, tenant, user, github, "gh-42")
    answer = tc.submit(
        f"/account/identities/{identity}/unlink", {}, form_path="/account/identities"
    )
    assert answer.status_code == 302
    with app.app_context():
        assert db.session.get(LinkedIdentity, identity) is None
        assert (
            db.session.scalar(
                select(AuditEvent).where(AuditEvent.action == "upstream.unlinked")
            ).target_id
            == user.id
        )


def test_password_or_passkey_is_another_way_in(app, tenant, make_user, tenant_client, sso):
    with_password = make_user(tenant, "pwd@example.com")
    identity = link(app, tenant, with_password, sso, "sub-pwd")
    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, with_password)
    answer = tc.submit(
        f"/account/identities/{identity}/unlink", {}, form_path="/account/identities"
    )
    assert answer.status_code == 302

    with_passkey = make_user(tenant, "key@example.com", password=None)
    identity = link(app, tenant, with_passkey, sso, "sub-key")
    with app.app_context():
        db.session.add(
            MfaFactor(tenant_id=tenant.id, user_id=with_passkey.id, kind="webauthn", name="Key")
        )
        db.session.commit()
    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, with_passkey)
    answer = tc.submit(
        f"/account/identities/{identity}/unlink", {}, form_path="/account/identities"
    )
    assert answer.status_code == 302


def test_someone_elses_identity_cannot_be_unlinked(app, tenant, make_user, tenant_client, sso):
    owner = make_user(tenant, "owner@example.com")
    identity = link(app, tenant, owner, sso, "sub-owner")
    other = make_user(tenant, "other@example.com")
    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, other)
    answer = tc.submit(
        f"/account/identities/{identity}/unlink", {}, form_path="/account/identities"
    )
    assert answer.status_code == 404
    with app.app_context():
        assert db.session.get(LinkedIdentity, identity) is not None


def test_identities_page_needs_sign_in(tenant, tenant_client):
    answer = tenant_client(tenant).get("/account/identities")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
