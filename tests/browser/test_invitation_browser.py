"""Invitations and "my other workspaces" in headless Chromium against a live server: the
acceptance page creates the account in an invite-only (or closed) workspace, switching the
active organization, and "my other workspaces" between two path-routed tenants."""

import re

import pytest

from app.extensions import db
from app.services import invitations
from app.services import orgs
from app.services import tenants as tenants_service

pytestmark = pytest.mark.browser

PASSWORD = "plum tractor lantern 42"


def _invite(app, slug: str, email: str, org_name: str | None = None) -> str:
    with app.app_context():
        tenant = tenants_service.get_tenant(slug)
        org_id = orgs.create_org(tenant, org_name).id if org_name else None
        _inv, token = invitations.create_invitation(
            tenant, email, org_id=org_id, org_roles=["admin"] if org_id else None
        )
        db.session.commit()
        return token


def _accept(page, origin: str, token: str, name: str) -> None:
    page.goto(f"{origin}/invitations/{token}")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Create account and accept')")


@pytest.mark.parametrize("path_routing", [False, True], ids=["subdomain", "path-prefix"])
def test_accept_two_invitations_and_switch_between_workspaces(
    app, make_tenant, live_server, page, artifact_path, path_routing
):
    make_tenant("home-ws", "Home", signup_mode="invite_only")
    make_tenant("work-ws", "Work", signup_mode="closed")
    home = live_server.origin("home-ws", path_routing=path_routing)
    work = live_server.origin("work-ws", path_routing=path_routing)

    _accept(page, work, _invite(app, "work-ws", "pat@example.com"), "Pat at Work")
    page.wait_for_url(re.compile(r".*/account/?$"))
    _accept(page, home, _invite(app, "home-ws", "pat@example.com", "Garden Club"), "Pat")
    page.wait_for_url(re.compile(r".*/account/organizations$"))
    assert page.locator("text=Garden Club").count() >= 1

    page.click("button:has-text('Switch to Garden Club')")
    page.wait_for_selector("text=You are now acting in Garden Club.")
    if not path_routing:
        page.screenshot(path=artifact_path("account-organizations.png"), full_page=True)
        # Chromium refuses a Domain=localhost cookie, so the live server's *.localhost
        # tenants cannot share the hint (a dotted BASE_DOMAIN can: tests/test_account_orgs.py).
        assert page.locator("text=not signed in to any other workspace").count() == 1
        return
    other = page.locator("a:has-text('switch to Work')")
    assert other.count() == 1
    other.click()
    page.wait_for_url(re.compile(r".*/account/?$"))
    page.goto(f"{work}/account/organizations")
    assert page.locator("a:has-text('switch to Home')").count() == 1
