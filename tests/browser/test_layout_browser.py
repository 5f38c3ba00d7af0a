"""No horizontal overflow at 1280 and 390 px: the hosted pages, /account with several
sessions, the console's users page with a 70-character email, and the settings page.
Tables wrap or scroll inside their own box; long values truncate with a title. Every
page is kept as a screenshot in test-artifacts/."""

import re

import pytest

from app.extensions import db
from app.models import User
from app.services import sessions as sessions_service
from app.services import tenants as tenants_service

pytestmark = pytest.mark.browser

PASSWORD = "violet harbour compass 77"
LONG_EMAIL = "a.very.long.mailbox.name.for.layout.tests.012345@subdomain.example.com"
ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro Build/AP1A.240405.002; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36 "
    "[FB_IAB/FB4A;FBAV/460.0.0.48.109;]"
)
WIDTHS = [1280, 390]
# For the failure message: the elements that stick out on the right.
WIDER_THAN_VIEWPORT = """() => [...document.querySelectorAll('body *')]
  .filter((el) => el.getBoundingClientRect().right > innerWidth + 1)
  .slice(0, 8)
  .map((el) => `${el.tagName}.${el.className} ${(el.textContent || '').trim().slice(0, 30)}`)"""


def fits(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def check_page(page, artifact_path, name: str, width: int):
    page.screenshot(path=artifact_path(f"layout-{width}-{name}.png"), full_page=True)
    scroll_width, inner_width = fits(page)
    if scroll_width > inner_width:
        culprits = page.evaluate(WIDER_THAN_VIEWPORT)
        pytest.fail(f"{name} at {width}px is {scroll_width}px wide: {culprits}")


def seed(app, make_user):
    with app.app_context():
        tenant = tenants_service.create_tenant("Acme Corp", "acme-corp")
        db.session.commit()
    assert len(LONG_EMAIL) == 70
    admin = make_user(tenant, "admin@acme.example", PASSWORD, roles=("admin",), name="Ada Admin")
    make_user(tenant, LONG_EMAIL, PASSWORD, name="Bartholomew Maximilian Longname-Smythe")
    with app.app_context():
        tenant = tenants_service.get_tenant("acme-corp")
        row = db.session.get(User, admin.id)
        for ip in ("203.0.113.250", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"):
            sessions_service.start_session(tenant, row, amr=["pwd"], ip=ip, user_agent=ANDROID_UA)
        db.session.commit()


@pytest.mark.parametrize("width", WIDTHS)
def test_pages_fit_the_viewport(app, make_user, live_server, page, artifact_path, width):
    seed(app, make_user)
    page.set_viewport_size({"width": width, "height": 900})
    origin = live_server.origin("acme-corp")

    page.goto(f"{origin}/login")
    check_page(page, artifact_path, "login", width)
    page.goto(f"{origin}/signup")
    check_page(page, artifact_path, "signup", width)

    page.goto(f"{origin}/login")
    page.fill("input[name=email]", "admin@acme.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(re.compile(r".*/account/?$"))
    check_page(page, artifact_path, "account", width)
    # Every session row's sign-out button is on screen: not off the page, and not
    # scrolled away inside the table's own box.
    buttons = page.locator("#sessions form button")
    assert buttons.count() == 3
    for index in range(buttons.count()):
        box = buttons.nth(index).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, box
        clipped = buttons.nth(index).evaluate(
            "(b) => b.getBoundingClientRect().right > b.closest('.table-wrap')"
            ".getBoundingClientRect().right + 0.5"
        )
        assert not clipped, f"session button {index} is cut off by the table's box"
    device = page.locator("#sessions td .truncate").first
    assert device.get_attribute("title")  # the full User-Agent string

    page.goto(f"{origin}/admin/users")
    page.wait_for_selector(f"#users-table >> text={LONG_EMAIL[:20]}")
    check_page(page, artifact_path, "admin-users", width)
    link = page.locator(f"#users-table a[title='{LONG_EMAIL}']")
    assert link.count() == 1

    page.goto(f"{origin}/admin/settings")
    page.wait_for_selector("h1:has-text('Settings')")
    check_page(page, artifact_path, "admin-settings", width)


def test_console_tables_on_a_phone_label_their_cells(app, make_user, live_server, page):
    """At 390 px a console table is one card per row: every value carries its column's name
    ("Used: 2", not a bare "2"), empty cells take no line, and the wide per-day usage table
    stays a table that scrolls inside its own box instead of 30 tall cards."""
    seed(app, make_user)
    page.set_viewport_size({"width": 390, "height": 900})
    origin = live_server.origin("acme-corp")
    page.goto(f"{origin}/login")
    page.fill("input[name=email]", "admin@acme.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(re.compile(r".*/account/?$"))

    page.goto(f"{origin}/admin/usage")
    users = page.locator("#quota-utilisation tr[data-quota=max_users] td")
    assert users.nth(1).get_attribute("data-label") == "Used"
    label = users.nth(1).evaluate("(td) => getComputedStyle(td, '::before').content")
    assert label == '"Used: "'
    assert users.nth(3).evaluate("(td) => getComputedStyle(td).display") == "none"  # no meter
    days = page.locator("#usage-days")
    assert days.evaluate("(t) => getComputedStyle(t).display") == "table"
    assert days.locator("tbody tr").count() == 30
    row_height = days.locator("tbody tr").first.bounding_box()["height"]
    assert row_height < 60, row_height  # one line per day, not a card
    scroll_width, inner_width = fits(page)
    assert scroll_width <= inner_width  # the table scrolls inside .table-wrap, not the page
