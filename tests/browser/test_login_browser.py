"""The hosted pages in headless Chromium against a live server: sign up, verify the
address from the mail that was sent, sign in, sign out — under both tenant forms."""

import re

import pytest

from app.extensions import db
from app.models import OutboxMessage

pytestmark = pytest.mark.browser

PASSWORD = "plum tractor lantern 42"


def verification_link(app, to: str) -> str:
    with app.app_context():
        body = db.session.scalar(
            db.select(OutboxMessage.body_text)
            .where(OutboxMessage.to == to)
            .order_by(OutboxMessage.created_at.desc())
        )
    assert body, f"no verification mail to {to}"
    return re.search(r"https?://\S+/email/verify/\S+", body).group(0)


@pytest.mark.parametrize("path_routing", [False, True], ids=["subdomain", "path-prefix"])
def test_sign_up_verify_sign_in_sign_out(
    app, make_tenant, live_server, page, artifact_path, path_routing
):
    make_tenant("acme-corp", "Acme Corp", require_email_verification=True)
    origin = live_server.origin("acme-corp", path_routing=path_routing)
    email = f"grace-{'path' if path_routing else 'sub'}@example.com"

    page.goto(f"{origin}/signup")
    assert "Acme Corp" in page.title()
    page.fill("input[name=name]", "Grace Hopper")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Create account')")
    page.wait_for_selector("text=Check your email")

    # Signing in before verification explains what to do.
    page.goto(f"{origin}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_selector("text=Confirm your email address first")

    # Follow the link from the mail (built from the tenant's canonical origin).
    link = verification_link(app, email)
    assert link.startswith(live_server.origin("acme-corp") + "/email/verify/")
    page.goto(link)
    page.wait_for_selector("text=Your email address is confirmed.")

    page.goto(f"{origin}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(re.compile(r".*/account/?$"))
    assert page.url.startswith(origin)
    assert page.locator(".nav-user").inner_text() == email
    assert page.locator("#sessions tbody tr").count() == 1
    if not path_routing:
        page.screenshot(path=artifact_path("account-page.png"), full_page=True)

    page.click("header button:has-text('Sign out')")
    page.wait_for_selector("text=You are signed out.")
    page.goto(f"{origin}/account")
    page.wait_for_url(re.compile(r".*/login\?next=.*"))


def test_login_page_screenshot(make_tenant, live_server, page, artifact_path):
    make_tenant("acme-corp", "Acme Corp")
    origin = live_server.origin("acme-corp")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{origin}/login")
    page.fill("input[name=email]", "ada@example.com")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_selector("text=Incorrect email or password.")
    page.screenshot(path=artifact_path("login-page-error.png"), full_page=True)
    page.goto(f"{origin}/login")
    button = page.locator("button[type=submit]:has-text('Sign in')")
    # The brand colour reaches the primary button (the CSP allows no inline styles).
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(79, 70, 229)"
    page.screenshot(path=artifact_path("login-page.png"), full_page=True)

    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{origin}/signup")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375  # no horizontal scrolling on a phone
    page.screenshot(path=artifact_path("signup-page-mobile.png"), full_page=True)
