"""axe-core (npm ``axe-core``, injected by the test) on the hosted pages (sign-in, sign-up,
reset, codes and links, errors, invitation, account pages, MFA enrolment), in the light and
the dark theme, at 390 and 1280 px: no serious or critical WCAG violations. The console
pages: test_console_accessibility_browser.py."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import OutboxMessage
from app.services import invitations
from app.services import orgs
from tests.conftest import DEFAULT_PASSWORD
from tests.support.axe import AXE
from tests.support.axe import WIDTHS
from tests.support.axe import serious_violations

pytestmark = pytest.mark.browser


@pytest.fixture
def acme(app, make_tenant, make_user):
    tenant = make_tenant(
        "acme-corp",
        "Acme Corp",
        login_methods=["password", "email_code", "magic_link"],
        branding={"primary_color": "#ffee00"},
    )
    admin = make_user(tenant, "admin@acme.example", roles=("admin",))
    make_user(tenant, "ana@example.com")
    with app.app_context():  # the organizations page with its table
        acme = db.session.merge(tenant)
        for name, role in (("Blue Team", "owner"), ("Green Team", "member")):
            org = orgs.create_org(acme, name)
            orgs.add_member(acme, org, db.session.merge(admin), roles=[role])
        db.session.commit()
    return tenant


@pytest.mark.skipif(not AXE.exists(), reason="axe-core missing: run make install")
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", WIDTHS, ids=lambda s: f"{s[0]}px")
def test_hosted_and_console_pages_have_no_serious_violations(
    app, acme, live_server, browser, size, scheme, artifact_path
):
    origin = live_server.origin("acme-corp")
    context = browser.new_context(
        bypass_csp=True,
        viewport={"width": size[0], "height": size[1]},
        locale="en-US",
        color_scheme=scheme,
    )
    page = context.new_page()
    found = {}

    def check(name: str):
        page.wait_for_load_state("load")
        problems = serious_violations(page)
        if problems:
            page.screenshot(
                path=artifact_path(f"axe-{name}-{scheme}-{size[0]}.png"), full_page=True
            )
            found[f"{name} {page.url}"] = problems

    for path in ("/login", "/signup", "/password/forgot", "/login/code", "/logout", "/nope"):
        page.goto(origin + path)
        check(path.strip("/"))
        if path == "/login":
            page.screenshot(
                path=artifact_path(f"a11y-login-{scheme}-{size[0]}.png"), full_page=True
            )
    for lang in ("es", "de"):
        page.goto(f"{origin}/login?ui_locales={lang}")
        check(f"login-{lang}")
    # The code step, with an error announced.
    page.goto(origin + "/login/code")
    page.fill("input[name=email]", "ana@example.com")
    page.click("button:has-text('Email me a sign-in code')")
    page.wait_for_selector("input[name=code]")
    check("code")
    page.fill("input[name=code]", "000000")
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_selector("[aria-invalid=true]")
    check("code-error")
    # A magic link opened in another browser: the confirmation page.
    other = browser.new_context(bypass_csp=True, viewport={"width": size[0], "height": size[1]})
    asking = other.new_page()
    asking.goto(origin + "/login/code")
    asking.fill("input[name=email]", "ana@example.com")
    asking.click("button:has-text('Email me a sign-in link')")
    asking.wait_for_selector("text=Check your email")
    with app.app_context():
        body = db.session.scalars(
            db.select(OutboxMessage.body_text).order_by(OutboxMessage.id.desc())
        ).first()
    other.close()
    page.goto(re.search(r"https?://\S+/login/link/\S+", body).group(0))
    check("magic-link-confirm")

    # The invitation page, to a new person (in Spanish).
    with app.app_context():
        _row, token = invitations.create_invitation(db.session.merge(acme), "grace@example.com")
        db.session.commit()
    page.goto(f"{origin}/invitations/{token}?ui_locales=es")
    check("invitation")
    page.screenshot(
        path=artifact_path(f"i18n-invitation-es-{scheme}-{size[0]}.png"), full_page=True
    )

    # The account pages and MFA enrolment, signed in (English, then Spanish). Every
    # console page is checked by test_console_accessibility_browser.py.
    page.goto(origin + "/login")
    page.fill("input[name=email]", "admin@acme.example")
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(re.compile(r".*/account/?$"))
    check("account")
    page.screenshot(path=artifact_path(f"a11y-account-{scheme}-{size[0]}.png"), full_page=True)
    for path in (
        "/account?ui_locales=es",
        "/account/security?ui_locales=es",
        "/account/organizations?ui_locales=es",
        "/account/identities?ui_locales=es",
        "/account/delete?ui_locales=es",
        "/mfa/enroll?ui_locales=es",
    ):
        page.goto(origin + path)
        name = path.strip("/").replace("/", "-").split("?")[0] + "-es"
        check(name)
        page.screenshot(path=artifact_path(f"i18n-{name}-{scheme}-{size[0]}.png"), full_page=True)
    context.close()
    assert not found, "\n".join(f"{k}: {v}" for k, v in found.items())
