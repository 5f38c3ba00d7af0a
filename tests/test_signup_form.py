"""Sign-up errors: every field's error at once, focus on the first bad field, one
password min/max shared by the hint, maxlength, the form and the service, and an email
local part over 64 characters refused."""

import re

from app.extensions import db
from app.models import User
from app.services.password_policy import MAX_LENGTH
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of

GOOD_PASSWORD = "plum tractor lantern 42"


def signup(client, email="grace@example.com", password=GOOD_PASSWORD, name="Grace Hopper"):
    return client.submit("/signup", {"email": email, "password": password, "name": name})


def input_tag(html: str, name: str) -> str:
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)


def test_every_field_error_shows_at_once_and_focus_moves_to_the_first(tenant, tenant_client):
    response = signup(tenant_client(tenant), email="not-an-email", password="short")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="email-error"' in html and 'id="password-error"' in html
    assert "Use at least 12 characters." in html
    assert "autofocus" in input_tag(html, "email")
    assert "autofocus" not in input_tag(html, "name")
    assert "autofocus" not in input_tag(html, "password")
    assert "<script" not in html.split("</header>", 1)[1].split("<footer", 1)[0]  # no inline JS


def test_a_bad_name_comes_first(tenant, tenant_client):
    html = signup(tenant_client(tenant), name="x\u202ey", password="short").get_data(as_text=True)
    assert 'id="name-error"' in html and 'id="password-error"' in html
    assert "autofocus" in input_tag(html, "name")
    assert "autofocus" not in input_tag(html, "password")


def test_a_fresh_page_focuses_the_name(tenant, tenant_client):
    html = tenant_client(tenant).get("/signup").get_data(as_text=True)
    assert "autofocus" in input_tag(html, "name")


def test_one_password_maximum_everywhere(app, tenant, tenant_client):
    client = tenant_client(tenant)
    html = client.get("/signup").get_data(as_text=True)
    assert f'maxlength="{MAX_LENGTH}"' in input_tag(html, "password")
    assert f"Use 12 to {MAX_LENGTH} characters." in html
    assert "1024" not in html

    too_long = signup(client, password="correct horse " * 10)  # 140 characters
    body = too_long.get_data(as_text=True)
    assert too_long.status_code == 422 and f"Use at most {MAX_LENGTH} characters." in body
    assert "Field cannot be longer" not in body
    exactly = signup(client, password=("violet harbour compass " * 6)[:MAX_LENGTH])
    assert exactly.status_code == 302


def test_email_local_part_over_64_is_refused(app, tenant, tenant_client):
    response = signup(tenant_client(tenant), email="a" * 65 + "@example.com")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="email-error"' in html
    assert "too long before the @-sign" in html
    ok = signup(tenant_client(tenant), email="a" * 64 + "@example.com")
    assert ok.status_code == 302


def test_api_refuses_a_long_local_part_and_reports_every_field(app, tenant):
    api = Api(app, create_admin_key(app, tenant))
    response = api.post(
        "/tenants/acme-corp/users",
        json={"email": "b" * 65 + "@example.com", "name": "x\x07", "password": "short"},
    )
    assert response.status_code == 400
    errors = problem_of(response)["errors"]
    assert set(errors) == {"email", "name", "password"}
    with app.app_context():
        assert db.session.scalar(db.select(User.id).where(User.tenant_id == tenant.id)) is None
