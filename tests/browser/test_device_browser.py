"""RFC 8628 in Chromium: a person opens the tenant's /device page, is sent through
sign-in and back, types the code loosely (lower case, no dash), reviews the client and
its scopes, and approves; the device's next poll gets its tokens. Every step passes
axe-core (serious/critical WCAG findings) in the light and dark theme, with screenshots
at 390 and 1280 px in test-artifacts/."""

from __future__ import annotations

import re

import pytest

from tests.conftest import DEFAULT_PASSWORD
from tests.support.axe import AXE
from tests.support.axe import WIDTHS
from tests.support.axe import serious_violations
from tests.support.oauth import make_client

pytestmark = pytest.mark.browser

DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.mark.skipif(not AXE.exists(), reason="axe-core missing: run make install")
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", WIDTHS, ids=lambda s: f"{s[0]}px")
def test_a_person_approves_a_device_in_chromium(
    app, make_tenant, make_user, tenant_client, live_server, browser, size, scheme, artifact_path
):
    tenant = make_tenant("acme-corp", "Acme Corp", branding={"primary_color": "#1d4ed8"})
    make_user(tenant, "ana@example.com", name="Ana Example")
    tv = make_client(
        app,
        tenant,
        client_name="Living Room TV",
        redirect_uris=[],
        grant_types=[DEVICE],
        token_endpoint_auth_method="none",
        first_party=False,
    )
    device = tenant_client(tenant)
    started = device.post(
        "/oauth2/device_authorization",
        data={"client_id": tv.client_id, "scope": "openid profile email"},
    ).get_json()
    origin = live_server.origin("acme-corp")
    context = browser.new_context(
        bypass_csp=True,
        viewport={"width": size[0], "height": size[1]},
        locale="en-US",
        color_scheme=scheme,
    )
    page = context.new_page()
    found = {}

    def check(name: str, shot: bool = False):
        page.wait_for_load_state("load")
        if shot:
            page.screenshot(
                path=artifact_path(f"device-{name}-{scheme}-{size[0]}.png"), full_page=True
            )
        problems = serious_violations(page)
        if problems:
            found[name] = problems

    page.goto(origin + "/device")
    page.wait_for_url(re.compile(r".*/login\?next=%2Fdevice$"))
    page.fill("input[name=email]", "ana@example.com")
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(re.compile(r".*/device$"))
    check("enter", shot=True)
    page.fill("input[name=user_code]", "bcdf ghjk")  # no such code
    page.click("button[type=submit]:has-text('Continue')")
    page.wait_for_selector("[aria-invalid=true]")
    assert "This code is not valid" in page.inner_text("main")
    check("error", shot=True)
    page.fill("input[name=user_code]", started["user_code"].replace("-", "").lower())
    page.click("button[type=submit]:has-text('Continue')")
    page.wait_for_selector("button[value=approve]")
    text = page.inner_text("main")
    assert "Living Room TV" in text and started["user_code"] in text
    assert "See your email address" in text
    check("review", shot=True)
    page.click("button[value=approve]")
    page.wait_for_selector("text=Device connected")
    check("done", shot=True)
    context.close()

    polled = device.post(
        "/oauth2/token",
        data={
            "grant_type": DEVICE,
            "device_code": started["device_code"],
            "client_id": tv.client_id,
        },
    )
    assert polled.status_code == 200, polled.get_json()
    assert found == {}, found
