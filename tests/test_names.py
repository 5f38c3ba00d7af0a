"""Names people type and others read (display, organization, tenant and client names):
NFC, no control or bidi-override characters, the same answer from every way in, and
isolated (<bdi>) where the console shows them next to its own words."""

import pytest

from app.extensions import db
from app.models import Organization
from app.models import User
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of
from tests.support.console import console_fixtures

make_console = console_fixtures()

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
BAD_NAMES = [
    f"Mallory {RLO}deifirev",
    "Eve\u2066x\u2069",
    "line\nbreak",
    "tab\there",
    "bell\x07",
]


@pytest.fixture
def api(app, tenant):
    return Api(app, create_admin_key(app, tenant))


@pytest.mark.parametrize("name", BAD_NAMES)
def test_api_refuses_control_and_bidi_characters_in_every_name(api, name):
    cases = [
        ("/tenants/acme-corp/users", {"email": "m@example.com", "name": name}, "name"),
        ("/tenants/acme-corp/orgs", {"name": name}, "name"),
        (
            "/tenants/acme-corp/clients",
            {"client_name": name, "redirect_uris": ["https://app.example/cb"]},
            "client_name",
        ),
    ]
    for path, body, field in cases:
        response = api.post(path, json=body)
        assert response.status_code == 400, (path, response.get_json())
        problem = problem_of(response)
        assert field in problem["errors"], problem
        assert "character" in problem["errors"][field]


def test_api_stores_names_in_nfc(app, api, tenant):
    decomposed = "Ame\u0301lie"  # e + COMBINING ACUTE ACCENT
    response = api.post(
        "/tenants/acme-corp/users", json={"email": "a@example.com", "name": decomposed}
    )
    assert response.status_code == 201 and response.get_json()["name"] == "Amélie"
    org = api.post("/tenants/acme-corp/orgs", json={"name": decomposed})
    assert org.status_code == 201 and org.get_json()["name"] == "Amélie"
    with app.app_context():
        assert db.session.scalar(db.select(User.name).where(User.email == "a@example.com")) == (
            "Am\u00e9lie"
        )


def test_api_update_refuses_a_bidi_name(api, make_user, tenant):
    user = make_user(tenant, "max@example.com")
    response = api.patch(f"/tenants/acme-corp/users/{user.id}", json={"name": f"x{RLO}y"})
    assert response.status_code == 400 and "name" in problem_of(response)["errors"]


def test_tenant_names_follow_the_same_rule(app):
    key = create_admin_key(app)
    response = Api(app, key).post(
        "/tenants", json={"name": f"Evil{RLO}Corp", "slug": "evil-corp", "owner_email": "o@e.com"}
    )
    assert response.status_code == 400 and "name" in problem_of(response)["errors"]


def test_hosted_forms_refuse_bidi_names(app, tenant, user, tenant_client):
    client = tenant_client(tenant)
    response = client.submit(
        "/signup",
        {"email": "grace@example.com", "password": "plum tractor lantern 42", "name": f"G{RLO}x"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="name-error"' in html
    assert "text-direction character" in html

    from tests.support.auth import sign_in

    assert sign_in(client, "ada@example.com", "correct horse battery staple").status_code == 302
    profile = client.submit("/account/profile", {"name": f"Ada{RLO}"}, form_path="/account")
    assert profile.status_code == 422 and "text-direction character" in profile.get_data(
        as_text=True
    )
    with app.app_context():
        assert db.session.get(User, user.id).name == "Ada Lovelace"


def test_console_forms_refuse_bidi_names(app, tenant, make_console):
    admin = make_console(tenant, "boss@acme.example")
    org = admin.submit("/admin/orgs/new", {"name": f"Sales{RLO}", "slug": "", "domains": ""})
    assert org.status_code == 422 and "text-direction character" in org.get_data(as_text=True)
    user = admin.submit("/admin/users/new", {"email": "n@acme.example", "name": "a\x1bb"})
    assert user.status_code == 422 and "control characters" in user.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(Organization.id)) is None


def test_console_tables_isolate_user_supplied_names(app, tenant, make_console, make_user):
    # A name stored before this rule (or by a direct database write) still cannot
    # reorder the console's own words next to it.
    other = make_user(tenant, "old@acme.example", email_verified=False)
    with app.app_context():
        db.session.get(User, other.id).name = f"Old{RLO}Name"
        db.session.commit()
    admin = make_console(tenant, "boss@acme.example")
    html = admin.get("/admin/users").get_data(as_text=True)
    assert f">Old{RLO}Name</bdi>" in html
    assert "<bdi>old@acme.example</bdi>" in html
