"""Issue #17 "done when", in headless Chromium: a new tenant's admin, from the console
alone, defines an API with two permissions and gives one to the `member` role; a member
signs in through the example SPA and calls the example API with a token whose `aud` is
the API's identifier and whose `scope` is that one permission; the other permission's
call is refused (403 insufficient_scope), and so is the token at the other example API."""

from __future__ import annotations

import json
import re

import pytest

from app.extensions import db
from app.models import Tenant
from tests.browser.test_sdk_browser import SpaServer
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def _console_sign_in(page, origin, email):
    page.goto(f"{origin}/login?next=/admin/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/.*"))


def test_admin_defines_an_api_and_a_member_calls_it_through_the_spa(
    app, make_tenant, make_user, live_server, page, browser, artifact_path
):
    from examples.serve import api_identifiers
    from examples.serve import defined_apis
    from examples.serve import spa_config

    initech = make_tenant("initech", "Initech")
    make_user(initech, "bill@initech.example", roles=("admin",), name="Bill")
    make_user(initech, "milton@initech.example", roles=("member",), name="Milton")
    origin = live_server.origin("initech")

    def configure(spa_origin):
        with live_server.app.app_context():
            config = spa_config([db.session.get(Tenant, initech.id)], spa_origin)
            db.session.commit()
            return config

    def resources_of(slug):
        with live_server.app.app_context():
            try:
                return defined_apis(db.session.get(Tenant, initech.id), spa.origin)
            finally:
                db.session.remove()

    spa = SpaServer(configure, resources_of=resources_of)
    try:
        notes = api_identifiers(spa.origin)["notes"]

        # The admin, in the console: APIs → New API, then Roles → member.
        _console_sign_in(page, origin, "bill@initech.example")
        page.goto(f"{origin}/admin/resources")
        page.click("text=New API")
        page.fill("#f-identifier", notes)
        page.fill("#f-name", "Notes")
        page.fill("#f-permissions", "read:notes Read the notes\nwrite:notes Add notes")
        page.click("button:has-text('Create API')")
        page.wait_for_selector(f"text={notes}")
        page.screenshot(path=artifact_path("resources-api.png"), full_page=True)
        page.goto(f"{origin}/admin/roles")
        # Tenant roles come first; the organization role `member` is another role.
        page.locator("tr", has_text="Tenant").locator("a:text-is('member')").click()
        page.check(f"input[name=permissions][value='{notes} read:notes']")
        page.click("button:has-text('Save role')")
        page.wait_for_selector("text=Role member saved.")
        page.screenshot(path=artifact_path("resources-role.png"), full_page=True)

        # A member, in another browser context, signs in through the example SPA.
        context = browser.new_context()
        spa_page = context.new_page()
        spa_page.goto(spa.origin + "/")
        spa_page.wait_for_selector("body[data-ready='true']")
        spa_page.select_option("#tenant-select", "initech")
        spa_page.click("#login")
        spa_page.wait_for_selector("input[name='email']")
        spa_page.fill("input[name='email']", "milton@initech.example")
        spa_page.fill("input[name='password']", DEFAULT_PASSWORD)
        spa_page.click("button[type='submit']")
        spa_page.wait_for_selector("body[data-ready='true']")
        assert spa_page.text_content("#status") == "Signed in"

        spa_page.click("#call-api")
        spa_page.wait_for_selector("#api-result:has-text('aud')")
        answer = json.loads(spa_page.text_content("#api-result"))
        assert answer["aud"] == notes
        assert answer["scopes"] == ["read:notes"]
        assert answer["tenant_id"] == initech.id
        spa_page.screenshot(path=artifact_path("resources-spa.png"), full_page=True)

        # The permission the member lacks: 403 insufficient_scope from the API.
        spa_page.fill("#note-text", "hello")
        spa_page.click("#note-form button[type=submit]")
        spa_page.wait_for_selector("body[data-error='insufficient_scope']")
        # The notes token at the billing API (which initech does not define): refused.
        status = spa_page.evaluate(
            """async (notes) => {
                const token = await gatehouse.getAccessToken({ resource: notes });
                const r = await fetch("/billing/me", {headers: {Authorization: `Bearer ${token}`}});
                return r.status;
            }""",
            notes,
        )
        assert status == 401
        context.close()
    finally:
        spa.stop()
