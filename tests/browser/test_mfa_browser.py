"""Passkeys in headless Chromium with its virtual authenticator (CDP WebAuthn domain):
enrolment during a required sign-in, then the passkey as second factor and on its own.
This drives static/js/passkeys.js against the real endpoints."""

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.services import users

pytestmark = pytest.mark.browser

PASSWORD = "plum tractor lantern 42"


def _virtual_authenticator(page) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


def _password_sign_in(page, origin: str, email: str) -> None:
    page.goto(f"{origin}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")


def test_passkey_enrolment_second_factor_and_passwordless(
    app, make_tenant, live_server, page, artifact_path
):
    tenant = make_tenant("acme-corp", "Acme Corp", mfa_policy="required")
    with app.app_context():
        users.create_user(tenant, "ada@example.com", password=PASSWORD, email_verified=True)
        db.session.commit()
    origin = live_server.origin("acme-corp")
    _virtual_authenticator(page)

    # 1. MFA is required and Ada has no factor: enrolment is part of sign-in.
    _password_sign_in(page, origin, "ada@example.com")
    page.wait_for_url(re.compile(r".*/mfa/enroll$"))
    assert page.locator(".mfa-qr svg").count() == 1
    page.screenshot(path=artifact_path("mfa-enroll.png"), full_page=True)
    page.click("button:has-text('Add a passkey')")
    page.wait_for_url(re.compile(r".*/mfa/recovery-codes.*"))
    page.click("button:has-text('Create recovery codes')")
    # The click does not wait for the POST's page: count once it has come.
    expect(page.locator(".mfa-codes li")).to_have_count(10)
    page.screenshot(path=artifact_path("mfa-recovery-codes.png"), full_page=True)
    page.click("text=I have saved them, continue")
    page.wait_for_url(re.compile(r".*/account/?$"))
    page.click("header button:has-text('Sign out')")
    page.wait_for_selector("text=You are signed out.")

    # 2. The passkey as the second factor.
    _password_sign_in(page, origin, "ada@example.com")
    page.wait_for_url(re.compile(r".*/mfa/challenge$"))
    page.screenshot(path=artifact_path("mfa-challenge.png"), full_page=True)
    page.click("button:has-text('Use a passkey')")
    page.wait_for_url(re.compile(r".*/account/?$"))
    page.goto(f"{origin}/account/security")
    assert page.locator("text=Passkey").count() >= 1
    page.screenshot(path=artifact_path("account-security.png"), full_page=True)
    page.click("header button:has-text('Sign out')")
    page.wait_for_selector("text=You are signed out.")

    # 3. Passwordless, once the tenant allows it.
    from app.services.settings import update_settings

    with app.app_context():
        update_settings(db.session.merge(tenant), {"passwordless_passkeys": True})
        db.session.commit()
    page.goto(f"{origin}/login")
    page.click("button:has-text('Sign in with a passkey')")
    page.wait_for_url(re.compile(r".*/account/?$"))
    assert page.locator(".nav-user").inner_text() == "ada@example.com"
