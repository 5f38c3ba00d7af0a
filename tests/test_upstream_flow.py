"""Sign-in with an upstream OpenID Connect provider, end to end: Gatehouse's tenant
``upstream`` is the provider of tenant ``acme-corp``, on a live server (path routing)."""

from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.models import User
from app.models.provider import LinkedIdentity
from tests.support.live import LiveServer
from tests.support.upstream import build
from tests.support.upstream import follow
from tests.support.upstream import sign_in_upstream
from tests.support.upstream import submit_login
from tests.support.upstream import upstream_code


@pytest.fixture
def server(app, make_app):
    live = LiveServer(lambda **kw: make_app(**kw, TENANT_ROUTING="path")).start()
    yield live
    live.stop()


@pytest.fixture
def up(server):
    return build(server)


def idp_user(up, email="grace@example.com", *, verified=True, name="Grace Hopper"):
    from app.services import users

    with up.server.app.app_context():
        users.create_user(
            up.idp,
            email,
            name=name,
            password="correct horse battery staple",
            email_verified=verified,
        )
        db.session.commit()


def acme_user(up, email, *, password="correct horse battery staple"):
    from app.services import users

    with up.server.app.app_context():
        user = users.create_user(
            up.acme, email, name="Acme", password=password, email_verified=True
        )
        db.session.commit()
        return user.id


def identities(up):
    with up.server.app.app_context():
        return list(db.session.scalars(select(LinkedIdentity)))


def refusals(up):
    with up.server.app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "upstream.refused"))
        return [row.data.get("reason") for row in rows]


def test_just_in_time_account_linked_by_subject(up):
    idp_user(up)
    browser = requests.Session()
    login_page = browser.get(up.acme_url("/login"), timeout=30)
    assert "Continue with Upstream" in login_page.text

    start = browser.get(up.acme_url(f"/login/providers/{up.provider_id}"), allow_redirects=False)
    authorize = urlsplit(start.headers["Location"])
    params = parse_qs(authorize.query)
    assert authorize.path == "/t/upstream/oauth2/authorize"
    assert params["code_challenge_method"] == ["S256"] and params["code_challenge"]
    assert params["state"] and params["nonce"]
    assert params["redirect_uri"] == [up.callback_prefix()]

    done = sign_in_upstream(up, browser, "grace@example.com")
    assert done.status_code == 302, done.text[:500]
    account = browser.get(up.acme_url("/account"), timeout=30)
    assert account.status_code == 200 and "grace@example.com" in account.text

    with up.server.app.app_context():
        user = db.session.scalar(select(User).where(User.tenant_id == up.acme.id))
        assert user.email == "grace@example.com" and user.email_verified
        assert user.password_hash is None
        (identity,) = db.session.scalars(select(LinkedIdentity))
        idp_sub = db.session.scalar(
            select(User.id).where(User.tenant_id == up.idp.id, User.email == "grace@example.com")
        )
        assert (identity.provider_id, identity.subject, identity.user_id) == (
            up.provider_id,
            idp_sub,
            user.id,
        )
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert "upstream.signin" in actions

    # A second sign-in finds the identity by (provider, subject): no new account.
    again = requests.Session()
    assert sign_in_upstream(up, again, "grace@example.com").status_code == 302
    with up.server.app.app_context():
        assert db.session.query(User).filter(User.tenant_id == up.acme.id).count() == 1


def test_state_mismatch_is_refused(up):
    idp_user(up)
    browser = requests.Session()
    callback = upstream_code(up, browser, "grace@example.com")
    tampered = callback.replace("state=", "state=x")
    answer = browser.get(tampered, allow_redirects=False, timeout=30)
    assert answer.status_code == 400 and "not started here" in answer.text
    # The flow is single use: the genuine state no longer works either.
    assert browser.get(callback, allow_redirects=False, timeout=30).status_code == 400
    # Nor in another browser that never started it.
    assert requests.get(callback, allow_redirects=False, timeout=30).status_code == 400
    assert identities(up) == [] and refusals(up).count("state_mismatch") == 3


def test_nonce_mismatch_is_refused(up):
    idp_user(up)
    browser = requests.Session()
    start = browser.get(up.acme_url(f"/login/providers/{up.provider_id}"), allow_redirects=False)
    # The nonce kept for this flow no longer matches the one the request carried.
    serializer = up.server.app.session_interface.get_signing_serializer(up.server.app)
    (cookie,) = [c for c in browser.cookies if c.name == "gh_flask"]
    data = serializer.loads(cookie.value)
    for flow in data["upstream_flows"].values():
        flow["nonce"] = "not-the-nonce-that-was-sent"
    cookie.value = serializer.dumps(data)
    answer = sign_in_upstream(up, browser, "grace@example.com", start=start.headers["Location"])
    assert answer.status_code == 400 and "does not answer this sign-in" in answer.text
    assert identities(up) == [] and "nonce_mismatch" in refusals(up)


def test_unverified_upstream_email_cannot_take_over(up):
    idp_user(up, "ada@example.com", verified=False)
    acme_user(up, "ada@example.com")
    answer = sign_in_upstream(up, requests.Session(), "ada@example.com")
    assert answer.status_code == 403 and "has not verified this email" in answer.text
    assert identities(up) == [] and "unverified_email" in refusals(up)


def test_signup_closed_refuses_just_in_time_accounts(server):
    up = build(server, acme_settings={"signup_mode": "closed"})
    idp_user(up)
    answer = sign_in_upstream(up, requests.Session(), "grace@example.com")
    assert answer.status_code == 403 and "Sign-up is closed here." in answer.text
    with up.server.app.app_context():
        assert db.session.query(User).filter(User.tenant_id == up.acme.id).count() == 0
    assert "signup_closed" in refusals(up)


def test_allowed_email_domains_apply(server):
    up = build(server, acme_settings={"allowed_email_domains": ["acme.test"]})
    idp_user(up)
    answer = sign_in_upstream(up, requests.Session(), "grace@example.com")
    assert answer.status_code == 403 and "acme.test" in answer.text


def test_verified_email_links_only_after_proving_ownership(up):
    idp_user(up, "ada@example.com")
    ada = acme_user(up, "ada@example.com")
    acme_user(up, "bob@example.com")

    # Signing in to another account does not prove anything: refused, no link.
    intruder = requests.Session()
    answer = sign_in_upstream(up, intruder, "ada@example.com")
    assert answer.status_code == 302 and "prompt=login" in answer.headers["Location"]
    page, _ = follow(intruder, up.base + answer.headers["Location"])
    signed = submit_login(intruder, page, "bob@example.com")
    refused, _ = follow(intruder, up.base + signed.headers["Location"])
    assert refused.status_code == 403 and identities(up) == []

    # The owner signs in with their password: the identity is linked to their account.
    owner = requests.Session()
    answer = sign_in_upstream(up, owner, "ada@example.com")
    page, _ = follow(owner, up.base + answer.headers["Location"])
    assert "already exists" in page.text
    signed = submit_login(owner, page, "ada@example.com")
    landed, _ = follow(owner, up.base + signed.headers["Location"])
    assert landed.status_code == 200 and "ada@example.com" in landed.text
    (identity,) = identities(up)
    assert identity.user_id == ada

    # From now on the upstream signs Ada in directly.
    later = requests.Session()
    assert sign_in_upstream(up, later, "ada@example.com").status_code == 302
    account = later.get(up.acme_url("/account"), timeout=30)
    assert "ada@example.com" in account.text
    assert "link_not_proven" in refusals(up)


def test_issuer_mismatch_in_id_token_is_refused(up):
    from tests.support.upstream import DoctoredDiscovery
    from tests.support.upstream import real_discovery

    idp_user(up)
    genuine = real_discovery(up)
    # A consistent document at its own URL, but the tokens come from another issuer.
    doctored = DoctoredDiscovery(lambda origin: {**genuine, "issuer": origin})
    try:
        provider_id = _provider(up, doctored.url)
        answer = sign_in_upstream(
            up, requests.Session(), "grace@example.com", provider_id=provider_id
        )
        assert answer.status_code == 400 and "another issuer" in answer.text
    finally:
        doctored.close()
    assert identities(up) == [] and "issuer_mismatch" in refusals(up)


def test_discovery_claiming_another_issuer_is_refused(up):
    from tests.support.upstream import DoctoredDiscovery
    from tests.support.upstream import real_discovery

    genuine = real_discovery(up)  # issuer http://localhost:<port>/t/upstream
    doctored = DoctoredDiscovery(lambda origin: genuine)
    try:
        provider_id = _provider(up, doctored.url)
        answer = requests.get(up.acme_url(f"/login/providers/{provider_id}"), timeout=30)
        assert answer.status_code == 502 and "another issuer" in answer.text
    finally:
        doctored.close()


def _provider(up, discovery_url: str) -> str:
    from app.services import providers
    from tests.support.upstream import register_client

    with up.server.app.app_context():
        provider = providers.create_provider(
            up.acme,
            {
                "kind": "oidc",
                "discovery_url": discovery_url,
                "name": "Doctored",
                "client_id": "x",
                "client_secret": "x",
            },
        )
        client_id, secret = register_client(up.idp, up.callback_prefix(provider.id))
        providers.update_provider(
            up.acme, provider, {"client_id": client_id, "client_secret": secret}
        )
        db.session.commit()
        return provider.id


def test_signed_in_user_links_another_identity_from_the_account(up):
    from tests.support.http import csrf_from

    idp_user(up, "grace@example.com")
    ada = acme_user(up, "ada@example.com")  # different emails: linking is explicit here
    browser = requests.Session()
    page, _ = follow(browser, up.acme_url("/login"))
    signed = submit_login(browser, page, "ada@example.com")
    assert signed.status_code == 302
    account = browser.get(up.acme_url("/account/identities"), timeout=30)
    assert "Link Upstream" in account.text
    start = browser.post(
        up.acme_url(f"/account/identities/link/{up.provider_id}"),
        data={"csrf_token": csrf_from(account.text)},
        allow_redirects=False,
        timeout=30,
    )
    assert start.status_code == 302
    answer = sign_in_upstream(up, browser, "grace@example.com", start=start.headers["Location"])
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/account/identities")
    (identity,) = identities(up)
    assert identity.user_id == ada and identity.email == "grace@example.com"
    listed = browser.get(up.acme_url("/account/identities"), timeout=30)
    assert "grace@example.com" in listed.text
    with up.server.app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert "upstream.linked" in actions


def test_unverified_new_account_must_confirm_where_required(server):
    up = build(server, acme_settings={"require_email_verification": True})
    idp_user(up, verified=False)
    answer = sign_in_upstream(up, requests.Session(), "grace@example.com")
    assert answer.status_code == 403 and "Confirm your email address" in answer.text
    with up.server.app.app_context():
        user = db.session.scalar(select(User).where(User.tenant_id == up.acme.id))
        assert user is not None and not user.email_verified
    assert "email_not_verified" in refusals(up)
