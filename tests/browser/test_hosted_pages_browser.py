"""#20 end to end in Chromium: a tenant admin, with the console alone, adds
``login.acme.test``, verifies it against a real local DNS server (dnslib) and has it
become the issuer, switches the tenant to Spanish by default, edits the verification
mail and enables email codes; then a person signs in with an emailed code on the Spanish
page at the custom domain. Screenshots at 390 and 1280 px are kept in test-artifacts/."""

from __future__ import annotations

import re

import pytest
import requests
from sqlalchemy import select

from app.extensions import db
from app.models import EmailTemplate
from app.models import OutboxMessage
from tests.conftest import CHROMIUM
from tests.conftest import DEFAULT_PASSWORD
from tests.support.dns import LocalDns
from tests.support.live import LiveServer

pytestmark = pytest.mark.browser

HOST = "login.acme.test"


@pytest.fixture
def dns():
    server = LocalDns().start()
    yield server
    server.stop()


@pytest.fixture
def server(make_app, app, dns):
    live = LiveServer(
        lambda **kw: make_app(DNS_RESOLVER=dns.address, TENANT_CACHE_TTL=0, **kw)
    ).start()
    yield live
    live.stop()


@pytest.fixture
def custom_browser(browser):
    """Chromium that resolves the custom domain to this machine (as its DNS would)."""
    instance = browser.browser_type.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
        ],
    )
    yield instance
    instance.close()


def last_mail(app, to: str) -> OutboxMessage:
    with app.app_context():
        return db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.to == to).order_by(OutboxMessage.id)
        ).all()[-1]


def test_console_then_spanish_email_code_at_the_custom_domain(
    app, make_tenant, make_user, server, dns, custom_browser, artifact_path
):
    tenant = make_tenant("acme-corp", "Acme Corp")
    make_user(tenant, "admin@acme.example", roles=("admin",), name="Alba Admin")
    make_user(tenant, "ana@example.com", name="Ana")
    origin = server.origin("acme-corp")

    # --- the tenant admin, in the console --------------------------------------------
    admin = custom_browser.new_context(locale="en-US").new_page()
    admin.goto(f"{origin}/login")
    admin.fill("input[name=email]", "admin@acme.example")
    admin.fill("input[name=password]", DEFAULT_PASSWORD)
    admin.click("button[type=submit]:has-text('Sign in')")
    admin.wait_for_url(re.compile(r".*/account/?$"))

    admin.goto(f"{origin}/admin/domains")
    admin.fill("input[name=host]", HOST)
    admin.click("button:has-text('Add domain')")
    admin.wait_for_selector(f"text=Publish the TXT record for {HOST}")
    record = admin.locator("td code").all_inner_texts()
    assert record[0] == f"_gatehouse.{HOST}"
    dns.publish(record[0], record[1])
    admin.click("button:has-text('Verify now')")
    admin.wait_for_selector(f"text={HOST} is verified.")
    admin.screenshot(path=artifact_path("hosted-console-domains-1280.png"), full_page=True)
    port = server.port
    issuer = f"http://{HOST}:{port}"
    assert issuer in admin.inner_text("main")

    admin.goto(f"{origin}/admin/settings")
    admin.select_option("select[name=default_locale]", "es")
    admin.check("input[name=login_methods][value=email_code]")
    admin.click("button:has-text('Save settings')")
    admin.wait_for_selector("text=Settings saved.")

    admin.goto(f"{origin}/admin/email-templates/verify_email?locale=es")
    admin.fill("input[name=subject]", "Bienvenida a {{ tenant_name }}: confirma tu correo")
    admin.click("button:has-text('Save template')")
    admin.wait_for_selector("text=Template saved.")
    with app.app_context():
        saved = db.session.scalar(select(EmailTemplate).where(EmailTemplate.locale == "es"))
        assert saved.subject.startswith("Bienvenida a")

    # The issuer is the custom domain now; the subdomain's discovery redirects there.
    found = requests.get(
        f"http://127.0.0.1:{port}/.well-known/openid-configuration",
        headers={"Host": f"{HOST}:{port}"},
        timeout=10,
    ).json()
    assert found["issuer"] == issuer

    # --- a person, at the custom domain, in a browser whose language we do not offer --
    for width, height in ((390, 844), (1280, 900)):
        context = custom_browser.new_context(
            locale="ja-JP", viewport={"width": width, "height": height}
        )
        person = context.new_page()
        person.goto(f"{issuer}/login")
        assert person.locator("html").get_attribute("lang") == "es"
        assert "Iniciar sesión" in person.title()
        person.screenshot(path=artifact_path(f"hosted-login-es-{width}.png"), full_page=True)
        person.click("a:has-text('Envíame un código de acceso en su lugar')")
        person.wait_for_selector("text=Iniciar sesión por correo")
        person.fill("input[name=email]", "ana@example.com")
        person.click("button:has-text('Envíame un código de acceso')")
        person.wait_for_selector("text=Introduce tu código")
        person.screenshot(path=artifact_path(f"hosted-code-es-{width}.png"), full_page=True)
        mail = last_mail(app, "ana@example.com")
        assert "es tu código de acceso a Acme Corp" in mail.subject
        code = re.search(r"\b(\d{6})\b", mail.body_text).group(1)
        person.fill("input[name=code]", code)
        person.click("button[type=submit]:has-text('Iniciar sesión')")
        person.wait_for_url(re.compile(rf"^{re.escape(issuer)}/account/?$"))
        person.screenshot(path=artifact_path(f"hosted-account-es-{width}.png"), full_page=True)
        context.close()
