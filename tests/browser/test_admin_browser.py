"""The admin console in headless Chromium against a live server: an operator creates a
tenant, its invited admin accepts, invites a user, creates an organization and a client,
and tunes the branding with the live preview. Every page is kept as a screenshot."""

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import OutboxMessage
from app.services import tenants as tenants_service

pytestmark = pytest.mark.browser

PASSWORD = "violet harbour compass 77"


def mailed_link(app, to: str, kind: str) -> str:
    with app.app_context():
        body = db.session.scalar(
            db.select(OutboxMessage.body_text)
            .where(OutboxMessage.to == to)
            .order_by(OutboxMessage.created_at.desc())
        )
    assert body, f"no mail to {to}"
    return re.search(rf"https?://\S+/{kind}/\S+", body).group(0)


def sign_in(page, origin: str, email: str, next_path: str = "/admin/"):
    page.goto(f"{origin}/login?next={next_path}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")


def shot(page, artifact_path, name: str):
    page.screenshot(path=artifact_path(f"admin-{name}.png"), full_page=True)


def test_operator_creates_a_tenant_whose_admin_sets_it_up(
    app, make_user, live_server, page, artifact_path
):
    with app.app_context():
        system = tenants_service.system_tenant()
    make_user(
        system, "operator@gatehouse.example", PASSWORD, roles=("admin",), name="Olivia Operator"
    )
    page.set_viewport_size({"width": 1360, "height": 860})
    base = live_server.origin()

    # The operator signs in on the system origin and lands on the instance console.
    sign_in(page, base, "operator@gatehouse.example")
    page.wait_for_url(re.compile(r".*/admin/tenants$"))
    page.click("text=New tenant")
    page.fill("#f-name", "Initech")
    page.fill("#f-slug", "initech")
    page.fill("#f-owner_email", "bill@initech.example")
    shot(page, artifact_path, "tenant-new")
    page.click("button:has-text('Create tenant')")
    page.wait_for_url(re.compile(r".*/admin/tenants/initech/overview$"))
    assert page.locator(".console-context").inner_text().count("Initech") >= 1
    shot(page, artifact_path, "operator-tenant-overview")
    page.goto(f"{base}/admin/tenants")
    page.wait_for_selector("#tenants-table >> text=Initech")
    shot(page, artifact_path, "tenants")

    # Search as you type (HTMX swaps the table, the URL follows).
    page.locator("#q").press_sequentially("initech", delay=30)
    expect(page.locator("#tenants-table tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r".*/admin/tenants\?q=initech$"))

    # The owner accepts the emailed invitation on the tenant's own origin.
    origin = live_server.origin("initech")
    link = mailed_link(app, "bill@initech.example", "invitations")
    assert link.startswith(origin)
    page.goto(link)
    page.fill("input[name=name]", "Bill Lumbergh")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Create account and accept')")
    page.wait_for_load_state()
    page.goto(f"{origin}/admin/")
    page.wait_for_url(re.compile(r".*/admin/overview$"))
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator("a:has-text('Tenants')").count() == 0  # not an operator
    shot(page, artifact_path, "overview")

    # Invite a user.
    page.click(".console-nav >> text=Users")
    page.wait_for_selector("#users-table >> text=bill@initech.example")
    shot(page, artifact_path, "users")
    page.click("a:has-text('Invite')")
    page.fill("#f-email", "peter@initech.example")
    page.click("button:has-text('Send invitation')")
    page.wait_for_selector("text=Invitation sent to peter@initech.example.")
    assert page.locator("#invitations-table >> text=pending").count() == 1
    shot(page, artifact_path, "invitations")

    # Create an organization.
    page.click(".console-nav >> text=Organizations")
    page.click("text=New organization")
    page.fill("#f-name", "TPS Reports")
    page.click("button:has-text('Create organization')")
    page.wait_for_selector("text=Organization TPS Reports created.")
    page.fill("#member-email", "bill@initech.example")
    page.click("#org-members button:has-text('Add member')")
    page.wait_for_selector("#org-members >> text=bill@initech.example added.")
    shot(page, artifact_path, "organization")

    # Create a client: its secret is shown once.
    page.click(".console-nav >> text=Clients")
    page.click("text=New client")
    page.fill("#f-client_name", "Initech Portal")
    page.fill("#f-redirect_uris", "https://portal.initech.example/callback")
    shot(page, artifact_path, "client-new")
    page.click("button:has-text('Create client')")
    secret = page.locator(".secret-once .secret").inner_text()
    assert len(secret) > 30
    shot(page, artifact_path, "client-created")
    expect(page).to_have_url(re.compile(r".*/admin/clients/cli_\w+$"))
    page.reload()  # a reload shows the client, never the secret again (nor re-posts)
    assert page.locator(".secret-once").count() == 0

    # Settings: the login preview follows the branding as it is typed.
    page.click(".console-nav >> text=Settings")
    # HTMX binds the preview's input trigger once the page has loaded: a value typed
    # before that (a busy machine) sends no preview request at all.
    page.wait_for_url(re.compile(r".*/admin/settings$"))
    page.wait_for_load_state("load")
    page.fill("#f-branding-display_name", "Initech Sign-in")
    expect(page.locator("#preview-title")).to_have_text(
        "Preview of the login page of Initech Sign-in"
    )
    page.fill("#f-branding-primary_color", "#0f766e")
    page.wait_for_selector("#login-preview rect[fill='#0f766e']")
    shot(page, artifact_path, "settings")
    page.click("button:has-text('Save settings')")
    page.wait_for_selector("text=Settings saved.")

    for name in ("Signing keys", "Sessions", "Audit log", "API keys"):
        page.click(f".console-nav >> text={name}")
        page.wait_for_selector(f"h1:has-text('{name.split()[0]}')")
        shot(page, artifact_path, name.lower().replace(" ", "-"))
    assert page.locator("text=client.created").count() == 0  # API keys page, not audit

    # On a phone the sidebar folds behind a Menu button.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{origin}/admin/users")
    toggle = page.locator(".nav-toggle")
    assert toggle.is_visible() and not page.locator("#console-nav").is_visible()
    shot(page, artifact_path, "phone-users")
    toggle.click()
    assert page.locator("#console-nav").is_visible()
    assert toggle.get_attribute("aria-expanded") == "true"
    shot(page, artifact_path, "phone-menu")
