"""The language of the hosted pages and mail (#20): OIDC ``ui_locales``, then the
switcher's cookie, then ``Accept-Language``, then the tenant's ``default_locale``, always
within the tenant's ``locales``; ``<html lang>``; localised dates in mail."""

from __future__ import annotations

import re
from urllib.parse import quote

from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from app.services import settings as settings_service
from app.services import tenants as tenants_service


def configure(app, **changes):
    with app.app_context():
        settings_service.update_settings(tenants_service.get_tenant("acme-corp"), changes)
        db.session.commit()


def lang_of(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def page(client, path="/login", **headers):
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_english_by_default(tenant, tenant_client):
    html = page(tenant_client(tenant))
    assert lang_of(html) == "en" and "Sign in" in html and "Forgot password?" in html


def test_accept_language_picks_a_supported_language(tenant, tenant_client):
    html = page(tenant_client(tenant), **{"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"})
    assert lang_of(html) == "es"
    assert "Iniciar sesión" in html and "¿Olvidaste tu contraseña?" in html
    assert "Correo electrónico" in html and "Contraseña" in html  # form labels too
    html = page(tenant_client(tenant), **{"Accept-Language": "pt-BR"})
    assert lang_of(html) == "pt-BR" and "Esqueceu a senha?" in html
    html = page(tenant_client(tenant), **{"Accept-Language": "ja, de;q=0.8"})
    assert lang_of(html) == "de" and "Passwort vergessen?" in html


def test_ui_locales_wins_over_the_cookie_and_the_browser(tenant, tenant_client):
    client = tenant_client(tenant)
    html = page(client, "/login?ui_locales=fr", **{"Accept-Language": "de"})
    assert lang_of(html) == "fr" and "Se connecter" in html
    # The authorization request carried in `next` (what /oauth2/authorize redirects with).
    authorize = "/oauth2/authorize?client_id=x&ui_locales=es%20en"
    html = page(client, "/login?next=" + quote(authorize, safe=""), **{"Accept-Language": "de"})
    assert lang_of(html) == "es"


def test_the_switcher_is_remembered_in_a_cookie(tenant, tenant_client):
    client = tenant_client(tenant)
    token = client.csrf_token("/login")
    answer = client.post(
        "/language", data={"csrf_token": token, "lang": "de", "return_to": "/login?next=/account"}
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/login?next=/account"
    assert "gh_lang=de" in answer.headers["Set-Cookie"]
    assert "HttpOnly" in answer.headers["Set-Cookie"]
    html = page(client, **{"Accept-Language": "es"})
    assert lang_of(html) == "de" and "Anmelden" in html
    assert lang_of(page(client, "/login?ui_locales=fr")) == "fr"  # ui_locales first
    # A foreign return address and an unknown language are ignored.
    odd = client.post(
        "/language", data={"csrf_token": token, "lang": "xx", "return_to": "//evil.example"}
    )
    assert odd.status_code == 302 and "evil" not in odd.headers["Location"]
    assert lang_of(page(client)) == "de"


def test_the_tenants_locales_limit_the_choice_and_its_default_applies(app, tenant, tenant_client):
    configure(app, locales=["en", "es"], default_locale="es")
    client = tenant_client(tenant)
    assert lang_of(page(client)) == "es"  # no header: the tenant's default
    assert lang_of(page(client, **{"Accept-Language": "fr"})) == "es"  # fr is not offered
    assert lang_of(page(client, "/login?ui_locales=de")) == "es"
    assert lang_of(page(client, **{"Accept-Language": "en"})) == "en"
    html = page(client)
    assert 'value="es"' in html and 'value="en"' in html and 'value="fr"' not in html


def test_errors_and_foreign_next_are_not_echoed(tenant, tenant_client, client):
    html = client.get(
        "/login", base_url="http://nobody.gatehouse.test", headers={"Accept-Language": "de"}
    ).get_data(as_text=True)
    assert "Unter dieser Adresse gibt es keinen Arbeitsbereich." in html
    assert lang_of(html) == "de"
    html = page(tenant_client(tenant), "/login?next=//evil.example/x")
    assert "evil" not in html


def test_mail_follows_the_language_of_the_page(app, tenant, user, tenant_client):
    configure(app, login_methods=["email_code"])
    client = tenant_client(tenant)
    client.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fr"
    answer = client.submit("/login/code", {"email": "ada@example.com", "method": "email_code"})
    assert "Saisissez votre code" in answer.get_data(as_text=True)
    with app.app_context():
        message = db.session.scalars(select(OutboxMessage)).all()[-1]
    assert "est votre code de connexion à Acme Corp" in message.subject
    assert "Saisissez-le sur la page de connexion" in message.body_text


def test_mail_outside_a_page_uses_the_default_locale_and_local_dates(app, tenant):
    from app.services import invitations

    configure(app, default_locale="de")
    with app.app_context():
        acme = tenants_service.get_tenant("acme-corp")
        invitations.create_invitation(acme, "grace@example.com")
        db.session.commit()
        message = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.to == "grace@example.com")
        )
    assert message.subject == "Einladung zu Acme Corp"
    # A German medium date, e.g. "07.12.2026, 14:41:08".
    assert re.search(r"läuft am \d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}:\d{2} UTC ab", message.body_text)
