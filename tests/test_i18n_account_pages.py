"""The account pages, MFA enrolment and invitation acceptance in the person's language
(#20): templates, form labels and errors, flashes, services' messages, localised dates
and counts, and ``<html lang>``; English stays the default."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import User
from app.services import invitations
from app.services import orgs
from app.services import tenants as tenants_service
from app.tenancy import scope
from tests.conftest import DEFAULT_PASSWORD
from tests.support.accounts import sign_in
from tests.support.mfa import code_at
from tests.support.mfa import enrolment_secret
from tests.support.mfa import freeze_totp
from tests.support.mfa import recovery_codes_in

# Short dates as CLDR writes them: es "30/11/26, 17:12", de "30.11.26, 17:12".
SHORT_DATETIME = {
    "es": r"\d{1,2}/\d{1,2}/\d{2}, \d{1,2}:\d{2}",
    "de": r"\d{2}\.\d{2}\.\d{2}, \d{2}:\d{2}",
}
# Each language's words on each page (a sample, not the whole catalogue).
WORDS = {
    "es": {
        "/account": [
            "Tu cuenta",
            "Guardar perfil",
            "Cambiar contraseña",
            "Contraseña actual",
            "Sesiones",
            "Dispositivo",
            "este navegador",
            "Descargar tus datos",
            "Aplicaciones con acceso",
            "Secciones de la cuenta",
        ],
        "/account/security": [
            "Seguridad",
            "Verificación en dos pasos",
            "Configurar una aplicación de autenticación",
            "Añadir una llave de acceso",
            "Esperando tu llave de acceso…",
        ],
        "/account/organizations": [
            "Mis organizaciones",
            "Mis roles",
            "Cambiar a Green",
            "Mis otros espacios de trabajo",
            "Salir…",
        ],
        "/account/identities": ["Cuentas vinculadas", "Identidades con las que inicias sesión"],
        "/account/delete": ["¿Eliminar tu cuenta?", "Eliminar mi cuenta", "descarga tus datos"],
    },
    "de": {
        "/account": [
            "Ihr Konto",
            "Profil speichern",
            "Passwort ändern",
            "Aktuelles Passwort",
            "Sitzungen",
            "Gerät",
            "dieser Browser",
            "Ihre Daten herunterladen",
        ],
        "/account/security": [
            "Sicherheit",
            "Bestätigung in zwei Schritten",
            "Authenticator-App einrichten",
            "Passkey hinzufügen",
        ],
        "/account/organizations": [
            "Meine Organisationen",
            "Meine Rollen",
            "Zu Green wechseln",
            "Meine anderen Arbeitsbereiche",
        ],
        "/account/identities": ["Verknüpfte Konten"],
        "/account/delete": ["Ihr Konto löschen?", "Mein Konto löschen"],
    },
}


def lang_of(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def blue_and_green(app, tenant, user):
    """Ada owns Blue (its only owner) and is a member of Green."""
    with app.app_context():
        acme = tenants_service.get_tenant("acme-corp")
        ada = scope(acme).first(User, User.email == "ada@example.com")
        blue, green = orgs.create_org(acme, "Blue"), orgs.create_org(acme, "Green")
        orgs.add_member(acme, blue, ada, roles=["owner"])
        orgs.add_member(acme, green, ada, roles=["member"])
        db.session.commit()
        return blue.id, green.id


def browser_in(tenant_client, tenant, lang: str):
    """A browser whose Accept-Language is ``lang``, signed in as Ada."""
    browser = tenant_client(tenant)
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    sign_in(browser, "ada@example.com", DEFAULT_PASSWORD)
    return browser


@pytest.mark.parametrize("lang", ["es", "de"])
def test_every_account_page_speaks_the_language(tenant, user, tenant_client, blue_and_green, lang):
    browser = browser_in(tenant_client, tenant, lang)
    for path, words in WORDS[lang].items():
        response = browser.get(path)
        assert response.status_code == 200, path
        html = text(response)
        assert lang_of(html) == lang, path
        missing = [w for w in words if w not in html]
        assert not missing, f"{path}: {missing}"
    # Sessions: dates in the language's own short form, not ISO.
    html = text(browser.get("/account"))
    assert re.search(SHORT_DATETIME[lang], html) and not re.search(r">\d{4}-\d{2}-\d{2} ", html)
    blue, _green = blue_and_green
    leave = text(browser.get(f"/account/organizations/{blue}/leave"))
    assert {"es": "¿Salir de Blue?", "de": "Blue verlassen?"}[lang] in leave


def test_english_stays_the_default(tenant, user, tenant_client):
    browser = tenant_client(tenant)
    sign_in(browser, "ada@example.com", DEFAULT_PASSWORD)
    html = text(browser.get("/account"))
    assert lang_of(html) == "en" and "Your account" in html and "Save profile" in html


def test_forms_errors_and_flashes_are_translated(app, tenant, user, tenant_client, blue_and_green):
    browser = browser_in(tenant_client, tenant, "es")
    empty = browser.submit(
        "/account/password", {"password": "", "new_password": ""}, form_path="/account"
    )
    assert empty.status_code == 422
    assert "Introduce tu contraseña actual." in text(empty)  # the form's own message
    wrong = browser.submit(
        "/account/password",
        {"password": "not it at all", "new_password": "a brand new passphrase"},
        form_path="/account",
    )
    assert "Esa no es tu contraseña actual." in text(wrong)  # the service's message
    saved = browser.submit("/account/profile", {"name": "Ada L."}, form_path="/account")
    assert "Perfil guardado." in text(browser.get(saved.headers["Location"]))
    # Another session is signed out by the change: a plural, in Spanish.
    other = tenant_client(tenant)
    sign_in(other, "ada@example.com", DEFAULT_PASSWORD)
    changed = browser.submit(
        "/account/password",
        {"password": DEFAULT_PASSWORD, "new_password": "a brand new passphrase"},
        form_path="/account",
    )
    assert "Contraseña cambiada. Se cerró 1 sesión más." in text(
        browser.get(changed.headers["Location"])
    )
    blue, green = blue_and_green
    switched = browser.submit(
        f"/account/organizations/{green}/switch", {}, form_path="/account/organizations"
    )
    assert "Ahora actúas en Green." in text(browser.get(switched.headers["Location"]))
    refused = browser.submit(
        f"/account/organizations/{blue}/leave", {}, form_path=f"/account/organizations/{blue}/leave"
    )
    assert "Eres el último propietario de Blue" in text(browser.get(refused.headers["Location"]))


def test_mfa_enrolment_and_recovery_codes_in_spanish(app, tenant, user, tenant_client):
    clock = freeze_totp(app)
    browser = browser_in(tenant_client, tenant, "es")
    page = browser.get("/mfa/enroll")
    html = text(page)
    assert lang_of(html) == "es"
    for words in (
        "Configurar la verificación en dos pasos",
        "Escanea este código QR",
        "Código de la aplicación",
        "Activar",
        "Volver a la configuración de seguridad",
    ):
        assert words in html
    secret = enrolment_secret(html)
    wrong = "000000" if code_at(secret, clock.now) != "000000" else "111111"
    refused = browser.submit("/mfa/enroll", {"code": wrong})
    assert refused.status_code == 400
    assert "Ese código no es correcto. Revisa la aplicación e inténtalo de nuevo." in text(refused)
    done = browser.submit("/mfa/enroll", {"code": code_at(secret, clock.now)})
    html = text(done)
    assert "Guarda tus códigos de recuperación" in html and "solo se muestran ahora" in html
    assert len(recovery_codes_in(html)) == 10
    intro = text(browser.get("/mfa/recovery-codes"))
    assert lang_of(intro) == "es"
    assert "Tienes 10 códigos de recuperación sin usar." in intro
    assert "Sustituir mis códigos de recuperación" in intro and "Ahora no" in intro
    security = text(browser.get("/account/security"))
    assert "aplicación de autenticación" in security
    assert "10 códigos de recuperación sin usar." in security
    assert re.search(r"<time datetime=\"[^\"]+\">\d{1,2} [a-z]{3,4}\.? \d{4}</time>", security)


def test_mfa_enrolment_in_french(app, tenant, user, tenant_client):
    freeze_totp(app)
    browser = browser_in(tenant_client, tenant, "fr")
    html = text(browser.get("/mfa/enroll"))
    assert lang_of(html) == "fr"
    assert "Configurer la validation en deux étapes" in html and "Activer" in html


def _invitation(app, email="grace@example.com"):
    with app.app_context():
        acme = tenants_service.get_tenant("acme-corp")
        _row, token = invitations.create_invitation(acme, email)
        db.session.commit()
        return token


@pytest.mark.parametrize(
    ("lang", "words", "expires"),
    [
        (
            "es",
            [
                "Te invitan a Acme Corp",
                "Esta invitación es para <strong>grace@example.com",
                "Espacio de trabajo",
                "Caduca",
                "Crea tu cuenta en Acme Corp para aceptar.",
                "Tu nombre",
                "Elige una contraseña",
                "Crear la cuenta y aceptar",
            ],
            r"\d{1,2} [a-z]{3,4}\.? \d{4}, \d{1,2}:\d{2}:\d{2}",
        ),
        (
            "pt-BR",
            [
                "Convite para Acme Corp",
                "Este convite é para",
                "Espaço de trabalho",
                "Criar conta e aceitar",
            ],
            r"\d{1,2} de [a-z]{3,4}\.? de \d{4}",
        ),
    ],
    ids=["es", "pt-BR"],
)
def test_invitation_page_in_the_language(app, tenant, tenant_client, lang, words, expires):
    token = _invitation(app)
    browser = tenant_client(tenant)
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    html = text(browser.get(f"/invitations/{token}"))
    assert lang_of(html) == lang
    missing = [w for w in words if w not in html]
    assert not missing, missing
    assert re.search(expires, html), "the expiry date is not localised"


def test_invitation_errors_and_acceptance_in_spanish(app, tenant, tenant_client):
    token = _invitation(app)
    browser = tenant_client(tenant)
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es"
    unknown = browser.get("/invitations/not-a-token")
    assert unknown.status_code == 404 and lang_of(text(unknown)) == "es"
    assert "Invitación no encontrada" in text(unknown)
    assert "Este enlace de invitación no es válido aquí." in text(unknown)
    short = browser.submit(f"/invitations/{token}", {"name": "Grace", "password": "short"})
    assert short.status_code == 400 and "Usa al menos" in text(short)
    accepted = browser.submit(
        f"/invitations/{token}", {"name": "Grace", "password": "a long enough passphrase"}
    )
    assert accepted.status_code == 302
    landing = text(browser.get(accepted.headers["Location"]))
    assert "Te damos la bienvenida a Acme Corp: tu cuenta está lista." in landing
    used = browser.get(f"/invitations/{token}")
    assert used.status_code == 410
    assert "La invitación ya no es válida" in text(used)
    assert "Esta invitación ya se usó." in text(used)
