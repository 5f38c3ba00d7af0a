"""Passwordless sign-in by email (#20): a 6-digit code at /login/code (field ``code``,
10 minutes, 5 attempts) and a magic link (15 minutes, single use, confirmation in another
browser), both enabled through ``login_methods``, which the pages and endpoints enforce;
lockout, MFA policy and ``amr`` ``otp`` apply."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import BrowserSession
from app.models import LoginCode
from app.models import OutboxMessage
from app.models import User
from app.models.base import utcnow
from app.services import settings as settings_service
from app.services import tenants as tenants_service
from tests.support.auth import audit_actions
from tests.support.auth import comparable
from tests.support.auth import sign_in

EMAIL = "ada@example.com"


def configure(app, **changes):
    with app.app_context():
        tenant = tenants_service.get_tenant("acme-corp")
        settings_service.update_settings(tenant, changes)
        db.session.commit()


def mails(app, to=EMAIL) -> list[OutboxMessage]:
    with app.app_context():
        stmt = (  # what is delivered: suppressed decoys are not mail
            select(OutboxMessage)
            .where(OutboxMessage.to == to, OutboxMessage.status != "suppressed")
            .order_by(OutboxMessage.id)
        )
        return list(db.session.scalars(stmt))


def code_from(app, to=EMAIL) -> str:
    body = mails(app, to)[-1].body_text
    return re.search(r"\b(\d{6})\b", body).group(1)


def link_from(app, to=EMAIL) -> str:
    body = mails(app, to)[-1].body_text
    return next(w for w in body.split() if "/login/link/" in w)


def sessions_of(app, email=EMAIL) -> list[BrowserSession]:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        return list(
            db.session.scalars(select(BrowserSession).where(BrowserSession.user_id == user.id))
        )


def ask_code(client, email=EMAIL, method="email_code"):
    return client.submit("/login/code", {"email": email, "method": method})


@pytest.fixture
def codes(app, tenant, user):
    configure(app, login_methods=["email_code"])
    return app


def test_login_page_shows_only_the_enabled_methods(app, tenant, user, tenant_client):
    page = tenant_client(tenant).get("/login").get_data(as_text=True)
    assert 'name="password"' in page and "/login/code" not in page
    configure(app, login_methods=["email_code"])
    page = tenant_client(tenant).get("/login").get_data(as_text=True)
    assert 'name="password"' not in page and "Forgot password?" not in page
    assert "Email me a sign-in code" in page and "sign-in link" not in page
    configure(app, login_methods=["password", "magic_link"])
    page = tenant_client(tenant).get("/login").get_data(as_text=True)
    assert 'name="password"' in page and "Email me a sign-in link instead" in page


def test_a_disabled_method_refuses_at_its_endpoints(app, tenant, user, tenant_client):
    client = tenant_client(tenant)
    assert client.get("/login/code").status_code == 403  # default: password only here
    assert client.get("/login/link/whatever").status_code == 403
    configure(app, login_methods=["email_code"])
    refused = sign_in(tenant_client(tenant), EMAIL, "correct horse battery staple")
    assert refused.status_code == 403 and "not available" in refused.get_data(as_text=True)
    assert sessions_of(app) == []
    assert tenant_client(tenant).get("/password/forgot").status_code == 403
    assert tenant_client(tenant).get("/login/link/whatever").status_code == 403  # no links


def test_an_emailed_code_signs_in_with_amr_otp_and_verifies_the_address(
    codes, tenant, tenant_client
):
    client = tenant_client(tenant)
    asked = ask_code(client)
    assert asked.status_code == 200
    html = asked.get_data(as_text=True)
    assert 'name="code"' in html and 'autocomplete="one-time-code"' in html
    code = code_from(codes)
    assert "10 minutes" in mails(codes)[-1].body_text
    done = client.submit("/login/code", {"code": code, "email": EMAIL})
    assert done.status_code == 302 and done.headers["Location"] == "/account/"
    [session] = sessions_of(codes)
    assert session.amr == ["otp"]
    assert "login.succeeded" in audit_actions(codes, tenant)
    with codes.app_context():
        assert db.session.scalar(select(User).where(User.email == EMAIL)).email_verified
    # Single use.
    again = tenant_client(tenant)
    ask_code(again)
    assert again.submit("/login/code", {"code": code, "email": EMAIL}).status_code == 401


def test_five_wrong_codes_end_the_code(codes, tenant, tenant_client):
    client = tenant_client(tenant)
    ask_code(client)
    code = code_from(codes)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for left in (4, 3, 2, 1):
        answer = client.submit("/login/code", {"code": wrong, "email": EMAIL})
        assert answer.status_code == 401
        html = answer.get_data(as_text=True)
        assert f"{left} attempt" in html and 'aria-invalid="true"' in html
    last = client.submit("/login/code", {"code": wrong, "email": EMAIL})
    assert "Too many wrong codes" in last.get_data(as_text=True)
    assert client.submit("/login/code", {"code": code, "email": EMAIL}).status_code == 401
    assert sessions_of(codes) == []


def test_an_expired_code_is_refused(codes, tenant, tenant_client):
    client = tenant_client(tenant)
    ask_code(client)
    with codes.app_context():
        for row in db.session.scalars(select(LoginCode)):
            row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    answer = client.submit("/login/code", {"code": code_from(codes), "email": EMAIL})
    assert answer.status_code == 401 and "expired" in answer.get_data(as_text=True)


def test_unknown_addresses_get_the_same_answer_and_no_mail(codes, tenant, tenant_client):
    known = ask_code(tenant_client(tenant)).get_data(as_text=True)
    unknown = ask_code(tenant_client(tenant), "nobody@example.com").get_data(as_text=True)
    assert comparable(known, EMAIL) == comparable(unknown, "nobody@example.com")
    assert mails(codes, "nobody@example.com") == []
    client = tenant_client(tenant)
    ask_code(client, "nobody@example.com")
    answer = client.submit("/login/code", {"code": "123456", "email": "nobody@example.com"})
    assert answer.status_code == 401


def test_wrong_codes_count_towards_the_lockout(codes, tenant, tenant_client):
    configure(codes, lockout_threshold=3)
    client = tenant_client(tenant)
    ask_code(client)
    code = code_from(codes)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(2):
        client.submit("/login/code", {"code": wrong, "email": EMAIL})
    locked = client.submit("/login/code", {"code": wrong, "email": EMAIL})
    assert locked.status_code == 429 and "Try again in" in locked.get_data(as_text=True)
    fresh = tenant_client(tenant)
    ask_code(fresh)
    assert len(mails(codes)) == 1  # a locked account is not mailed a new code
    assert "login.locked" in audit_actions(codes, tenant)


@pytest.mark.config(LOGIN_ACCOUNT_RATE_LIMIT="3 per minute")
def test_code_requests_are_rate_limited_per_account(codes, tenant, tenant_client):
    client = tenant_client(tenant)
    for _ in range(3):
        assert ask_code(client).status_code == 200
    assert ask_code(client).status_code == 429
    assert "login.throttled" in audit_actions(codes, tenant)


def test_mfa_policy_applies_after_the_code(codes, tenant, tenant_client):
    configure(codes, mfa_policy="required")
    client = tenant_client(tenant)
    ask_code(client)
    answer = client.submit("/login/code", {"code": code_from(codes), "email": EMAIL})
    assert answer.status_code == 302 and "/mfa/enroll" in answer.headers["Location"]
    assert sessions_of(codes) == []  # no session before the second factor


def test_magic_link_signs_in_the_asking_browser_and_asks_elsewhere(
    app, tenant, user, tenant_client
):
    configure(app, login_methods=["magic_link"])
    asking = tenant_client(tenant)
    sent = ask_code(asking, method="magic_link")
    assert sent.status_code == 200 and "sign-in link" in sent.get_data(as_text=True)
    link = link_from(app)
    assert link.startswith("http://acme-corp.gatehouse.test/login/link/")
    path = link.removeprefix("http://acme-corp.gatehouse.test")

    # Another browser (or a mail scanner) opening it: a question, no session.
    other = tenant_client(tenant)
    asked = other.get(path)
    assert asked.status_code == 200 and "Sign in on this device?" in asked.get_data(as_text=True)
    assert EMAIL in asked.get_data(as_text=True)
    assert sessions_of(app) == []
    confirmed = other.submit(path, {})
    assert confirmed.status_code == 302
    assert [s.amr for s in sessions_of(app)] == [["otp"]]
    # Used once.
    assert asking.get(path).status_code == 400

    # The asking browser signs in at once.
    ask_code(asking, method="magic_link")
    direct = asking.get(link_from(app).removeprefix("http://acme-corp.gatehouse.test"))
    assert direct.status_code == 302 and direct.headers["Location"] == "/account/"
    assert len(sessions_of(app)) == 2


def test_an_expired_magic_link_is_refused(app, tenant, user, tenant_client):
    configure(app, login_methods=["magic_link"])
    client = tenant_client(tenant)
    ask_code(client, method="magic_link")
    with app.app_context():
        for row in db.session.scalars(select(LoginCode)):
            row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    answer = client.get(link_from(app).removeprefix("http://acme-corp.gatehouse.test"))
    assert answer.status_code == 400 and sessions_of(app) == []


def test_an_email_code_alone_is_not_multi_factor(app):
    from app.services.mfa import amr_satisfies_mfa

    assert not amr_satisfies_mfa(["otp"])
    assert amr_satisfies_mfa(["pwd", "otp"]) and amr_satisfies_mfa(["otp", "mfa"])
    assert amr_satisfies_mfa(["hwk", "user"]) and not amr_satisfies_mfa(["pwd"])


def test_settings_accept_the_new_methods_and_refuse_unknown_ones(app, tenant):
    from app.services.errors import ValidationFailed

    with app.app_context():
        acme = tenants_service.get_tenant("acme-corp")
        merged = settings_service.update_settings(
            acme, {"login_methods": ["magic_link", "email_code"]}
        )
        assert merged["login_methods"] == ["email_code", "magic_link"]
        with pytest.raises(ValidationFailed):
            settings_service.update_settings(acme, {"login_methods": ["sms"]})
