"""Per-tenant email templates (#20): edited per language through the API and the console,
rendered in a sandboxed Jinja environment, refused at save time when they cannot render,
used when mail is sent; sender name and Reply-To."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of
from tests.support.console import console_fixtures
from tests.support.http import csrf_from

PATH = "/tenants/acme-corp/email-templates/verify_email"
make_console = console_fixtures()


@pytest.fixture
def api(app, tenant):
    return Api(app, create_admin_key(app, tenant))


def last_mail(app, to):
    with app.app_context():
        return db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.to == to).order_by(OutboxMessage.id)
        ).all()[-1]


def signup(tenant_client, tenant, email, **headers):
    client = tenant_client(tenant)
    client.client.environ_base.update(headers)
    return client.submit(
        "/signup", {"email": email, "password": "a long enough passphrase 42", "name": "Grace"}
    )


def test_the_built_in_template_is_readable_and_used_until_replaced(app, api, tenant, tenant_client):
    shown = api.get(PATH)
    assert shown.status_code == 200
    body = shown.get_json()
    assert body["custom"] is False and body["locale"] == "en"
    assert "{{ link }}" in body["text"] and "link" in body["variables"]

    saved = api.put(
        PATH,
        json={
            "subject": "Welcome to {{ tenant_name }}, {{ name }}",
            "text": "Hi {{ name }}! Confirm: {{ link }} (valid {{ hours }} h)",
            "html": "<p>Hi {{ name }}, <a href='{{ link }}'>confirm</a></p>",
        },
    )
    assert saved.status_code == 200 and saved.get_json()["custom"] is True
    signup(tenant_client, tenant, "grace@example.com")
    mail = last_mail(app, "grace@example.com")
    assert mail.subject == "Welcome to Acme Corp, Grace"
    assert mail.body_text.startswith(
        "Hi Grace! Confirm: http://acme-corp.gatehouse.test/email/verify/"
    )
    assert "valid 48 h" in mail.body_text
    assert mail.body_html.startswith("<p>Hi Grace, <a href='http://acme-corp.gatehouse.test/")

    # Another language keeps the built-in (translated) wording until edited.
    signup(tenant_client, tenant, "jose@example.com", HTTP_ACCEPT_LANGUAGE="es")
    assert last_mail(app, "jose@example.com").subject == "Confirma tu correo para Acme Corp"
    assert api.delete(PATH).status_code == 204
    assert api.get(PATH).get_json()["custom"] is False
    signup(tenant_client, tenant, "ada@example.com")
    assert last_mail(app, "ada@example.com").subject == "Confirm your email for Acme Corp"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Hello {{ name }", "does not render"),  # syntax
        ("Hello {{ password }}", "does not render"),  # not a documented variable
        ("{{ ''.__class__.__mro__ }}", "does not render"),  # sandbox
        ("{{ link.__class__ }}", "does not render"),
        ("{{ 9 ** 9 ** 9 }}", "does not render"),  # CPU
        ("{{ link * 100000000 }}", "does not render"),  # memory
        ("{% for i in range(10) %}{{ i }}{% endfor %}", "does not render"),
        ("{{ link|center(900000000) }}", "does not render"),
        ("{{ link|replace('', link) }}", "does not render"),
        ("{% include 'verify_email.text.txt' %}", "does not render"),
        ("{{ lipsum(100000) }}", "does not render"),
    ],
)
def test_a_template_that_cannot_render_is_refused_at_save_time(api, text, expected):
    answer = api.put(PATH, json={"subject": "Hi", "text": text})
    assert answer.status_code == 400
    assert expected in problem_of(answer)["errors"]["text"]
    assert api.get(PATH).get_json()["custom"] is False


def test_unknown_template_and_locale_are_refused(api):
    assert api.get("/tenants/acme-corp/email-templates/nope").status_code in (400, 404)
    answer = api.put(PATH + "?locale=xx", json={"subject": "a", "text": "b"})
    assert answer.status_code == 400


def test_a_locale_is_edited_on_its_own(app, api, tenant, tenant_client):
    assert (
        api.put(
            PATH + "?locale=es", json={"subject": "¡Hola {{ name }}!", "text": "{{ link }}"}
        ).status_code
        == 200
    )
    signup(tenant_client, tenant, "jose@example.com", HTTP_ACCEPT_LANGUAGE="es")
    assert last_mail(app, "jose@example.com").subject == "¡Hola Grace!"
    signup(tenant_client, tenant, "ada@example.com")
    assert last_mail(app, "ada@example.com").subject == "Confirm your email for Acme Corp"


@pytest.mark.config(MAIL_FROM="Gatehouse <no-reply@gatehouse.test>")
def test_sender_name_and_reply_to(app, api, tenant, tenant_client):
    answer = api.patch(
        "/tenants/acme-corp/settings",
        json={"mail_sender_name": "Acme Support", "mail_reply_to": "help@acme.example"},
    )
    assert answer.status_code == 200, answer.get_json()
    signup(tenant_client, tenant, "grace@example.com")
    mail = last_mail(app, "grace@example.com")
    assert mail.sender == '"Acme Support" <no-reply@gatehouse.test>'
    assert mail.reply_to == "help@acme.example"
    bad = api.patch("/tenants/acme-corp/settings", json={"mail_reply_to": "not an address"})
    assert bad.status_code == 400
    bad = api.patch("/tenants/acme-corp/settings", json={"mail_sender_name": "x\r\nBcc: y"})
    assert bad.status_code == 400


def test_console_edits_previews_tests_and_restores(app, tenant, make_console):
    console = make_console(tenant, "boss@acme.example")
    page = console.get("/admin/email-templates/verify_email?locale=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Preview with sample values" in html and "Confirm your email for Acme" in html
    token = csrf_from(html)
    preview = console.post(
        "/admin/email-templates/verify_email/preview",
        data={"csrf_token": token, "subject": "Hi {{ name }}", "text": "{{ link }}"},
        headers={"HX-Request": "true"},
    )
    assert "Hi Ada Lovelace" in preview.get_data(as_text=True)
    broken = console.post(
        "/admin/email-templates/verify_email?locale=en",
        data={"csrf_token": token, "locale": "en", "subject": "Hi", "text": "{{ nope }}"},
    )
    assert broken.status_code == 422 and "does not render" in broken.get_data(as_text=True)
    saved = console.post(
        "/admin/email-templates/verify_email?locale=en",
        data={
            "csrf_token": token,
            "locale": "en",
            "subject": "Yo {{ name }}",
            "text": "{{ link }}",
        },
    )
    assert saved.status_code == 302
    test = console.post(
        "/admin/email-templates/verify_email/test?locale=en", data={"csrf_token": token}
    )
    assert test.status_code == 302
    assert last_mail(app, "boss@acme.example").subject == "Yo Ada Lovelace"
    listing = console.get("/admin/email-templates").get_data(as_text=True)
    assert "custom" in listing
    restored = console.post(
        "/admin/email-templates/verify_email/restore?locale=en", data={"csrf_token": token}
    )
    assert restored.status_code == 302
    assert "custom" not in console.get("/admin/email-templates").get_data(as_text=True)


def test_the_built_in_source_can_be_saved_as_it_is(api):
    for name in ("verify_email", "reset_password", "invitation", "login_code"):
        path = f"/tenants/acme-corp/email-templates/{name}"
        source = api.get(path).get_json()
        answer = api.put(path, json={"subject": source["subject"], "text": source["text"]})
        assert answer.status_code == 200, (name, answer.get_json())
