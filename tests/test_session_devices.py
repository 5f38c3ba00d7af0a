"""Session lists name the browser ("Chrome on Linux", parsed by ua-parser) and keep the
full User-Agent in a title: on /account and in the console's sessions view."""

from html import escape

from tests.conftest import DEFAULT_PASSWORD
from tests.support.console import console_fixtures

make_console = console_fixtures()

CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def signed_in_with(tenant_client, tenant, user_agent, email="ada@example.com"):
    client = tenant_client(tenant)
    headers = {"User-Agent": user_agent}
    token = client.csrf_token("/login")
    response = client.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": DEFAULT_PASSWORD},
        headers=headers,
    )
    assert response.status_code == 302
    return client


def test_account_sessions_name_the_browser(tenant, user, tenant_client):
    signed_in_with(tenant_client, tenant, SAFARI_IPHONE)
    client = signed_in_with(tenant_client, tenant, CHROME_LINUX)
    html = client.get("/account").get_data(as_text=True)
    assert f'title="{escape(CHROME_LINUX)}">Chrome on Linux<' in html
    assert f'title="{escape(SAFARI_IPHONE)}">Mobile Safari on iOS<' in html
    assert f">{CHROME_LINUX}<" not in html  # the raw string only in the title


def test_console_sessions_name_the_browser(tenant, user, tenant_client, make_console):
    signed_in_with(tenant_client, tenant, CHROME_LINUX)
    admin = make_console(tenant, "boss@acme.example")
    html = admin.get("/admin/sessions").get_data(as_text=True)
    assert f'title="{escape(CHROME_LINUX)}">Chrome on Linux<' in html


def test_unknown_or_missing_agents_read_plainly(app):
    from app.web.user_agents import describe

    assert describe("") == "Unknown browser"
    assert describe(None) == "Unknown browser"
    assert describe("curl/8.5.0") == "curl"
    assert describe("x" * 5000) == "Unknown browser"
