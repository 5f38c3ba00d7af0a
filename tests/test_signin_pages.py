"""The sign-in flow's browser steps, counted and cached (issue #15).

Statements per step (the bench's flow: authorize → /login → POST /login → authorize):
the login page reads nothing when warm, the password POST reads the user and whether
they have a second factor in one query and does not read back the session it has just
inserted, a signed-in authorization reads the session and its user in one query.

What the hosted pages build once per tenant snapshot and language (app/web/page_cache.py:
branding, the language picker) is per tenant, per language and per URL form, is rebuilt
after a branding or settings change, and keeps the CSRF token and the return path per
request.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest

from app.extensions import db
from app.services import settings as settings_service
from tests.support.http import csrf_from
from tests.support.oauth import authorize
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair
from tests.test_round_trips import round_trips

# No poll of the configuration version inside a counted request (app/tenant_cache.py).
pytestmark = pytest.mark.config(TENANT_SYNC_INTERVAL=3600)

PASSWORD = "correct horse battery staple"

_PICKER_RE = re.compile(
    r'<form method="post" action="([^"]*)" class="language-switcher">.*?</form>', re.S
)


def picker(html: str) -> str:
    match = _PICKER_RE.search(html)
    assert match, "no language picker on the page"
    return match.group(0)


def picker_field(html: str, name: str) -> str:
    block = picker(html)
    match = re.search(rf'name="{name}" type="hidden" value="([^"]*)"', block) or re.search(
        rf'type="hidden" name="{name}" value="([^"]*)"', block
    )
    assert match, (name, block)
    return match.group(1)


def configure(app, tenant, **changes):
    from app.services import tenants as tenants_service

    with app.app_context():
        settings_service.update_settings(tenants_service.get_tenant(tenant.slug), changes)
        db.session.commit()


def login_page(client, path="/login", **headers):
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def post_login(client, email="ada@example.com", password=PASSWORD, next_=None):
    html = login_page(client, "/login" + (f"?next={next_}" if next_ else ""))
    data = {"csrf_token": csrf_from(html), "email": email, "password": password}
    if next_:
        data["next"] = next_
    return client.post("/login", data=data)


@pytest.fixture
def ada(make_user, tenant):
    return make_user(tenant, password=PASSWORD)


# --- statements per step ------------------------------------------------------------------


def test_the_login_page_reads_nothing_when_warm(app, tenant, tenant_client):
    client = tenant_client(tenant)
    login_page(client)
    with round_trips(app) as seen:
        html = login_page(client)
    assert seen == [], seen
    assert 'name="password"' in html and "language-switcher" in html


def test_the_password_post_does_not_read_back_its_session(app, tenant, ada, tenant_client):
    client = tenant_client(tenant)
    post_login(client)  # warm: the first sign-in of the worker
    client = tenant_client(tenant)
    html = login_page(client)
    data = {"csrf_token": csrf_from(html), "email": "ada@example.com", "password": PASSWORD}
    with round_trips(app) as seen:
        response = client.post("/login", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/account/"
    assert seen[-1] == "COMMIT" and seen.count("COMMIT") == 1
    statements = seen[:-1]
    assert not [s for s in statements if s.startswith("SELECT browser_sessions")], statements
    # the user and whether they have a second factor: one query
    reads = [s for s in statements if s.startswith("SELECT")]
    assert len(reads) == 1 and "FROM users" in reads[0] and "mfa_factors" in reads[0], reads
    assert len(statements) <= 5, statements
    # what the sign-in writes is all there: the session, the audit event and its outbox
    # event (the webhook payload is the session as the admin API shows it)
    for table in ("browser_sessions", "audit_events", "events"):
        assert any(f"INSERT INTO {table} " in s for s in statements), (table, statements)
    from app.models import BrowserSession
    from app.models import Event

    with app.app_context():
        session = db.session.scalars(
            db.select(BrowserSession).order_by(BrowserSession.created_at.desc())
        ).first()
        event = db.session.scalars(
            db.select(Event).where(Event.type == "session.created").order_by(Event.id.desc())
        ).first()
        assert event.data["id"] == session.id and event.data["user_id"] == ada.id
        assert event.data["amr"] == ["pwd"] and event.data["created_at"]


def test_a_signed_in_authorization_reads_session_and_user_in_one_query(
    app, tenant, ada, tenant_client
):
    client = tenant_client(tenant)
    rp = make_client(app, tenant)
    assert post_login(client).status_code == 302
    _verifier, challenge = pkce_pair()
    assert authorize(client, rp, verifier_challenge=challenge).status_code == 302  # warm
    with round_trips(app) as seen:
        response = authorize(client, rp, verifier_challenge=challenge)
    assert response.status_code == 302 and "code=" in response.headers["Location"]
    reads = [s for s in seen if s.startswith("SELECT")]
    assert len(reads) == 1, seen
    assert "FROM browser_sessions JOIN users" in reads[0], reads


def db_kind(app) -> str:
    with app.app_context():
        return db.engine.dialect.name


def test_the_password_post_writes_four_rows_in_one_transaction(
    app, tenant, ada, tenant_client, monkeypatch
):
    """The user read, then the session, ``last_login_at``, the audit event and its outbox
    event, each written once with Core statements (no unit of work), one COMMIT: on
    PostgreSQL 2 statements + COMMIT (the four rows in one data-modifying WITH),
    elsewhere 5 + COMMIT; the rows hold what they held when the ORM wrote them."""
    from datetime import timedelta

    from app.models import AuditEvent
    from app.models import BrowserSession
    from app.models import Event
    from app.models import User
    from app.security.tokens import digest
    from app.services import usage
    from app.web.session import cookie_name

    client = tenant_client(tenant)
    post_login(client)  # warm: the first sign-in of the worker
    client = tenant_client(tenant)
    html = login_page(client)
    data = {"csrf_token": csrf_from(html), "email": "ada@example.com", "password": PASSWORD}
    counted = []
    note_audit = usage.note_audit
    monkeypatch.setattr(usage, "note_audit", lambda *a: counted.append(a[1:]) or note_audit(*a))
    with round_trips(app) as seen:
        response = client.post("/login", data=data, headers={"User-Agent": "bench/1"})
    assert counted == [("login.succeeded", ada.id)]  # the daily sign-ins and active users
    assert response.status_code == 302 and response.headers["Location"] == "/account/"
    kinds = [" ".join(s.split()[:3]) for s in seen]
    if db_kind(app) == "postgresql":  # one statement, a data-modifying WITH
        assert len(seen) == 3 and seen[-1] == "COMMIT", seen
        assert seen[1].startswith("WITH audit_row AS (INSERT INTO audit_events"), seen
        assert "last_login AS (UPDATE users SET last_login_at=" in seen[1], seen
        assert "new_session AS (INSERT INTO browser_sessions" in seen[1], seen
        assert "INSERT INTO events" in seen[1], seen
    else:
        assert kinds[1:] == [
            "INSERT INTO browser_sessions",
            "UPDATE users SET",
            "INSERT INTO audit_events",
            "INSERT INTO events",
            "COMMIT",
        ], seen
        assert "SET last_login_at=" in seen[2], seen
    assert kinds[0].startswith("SELECT"), seen
    with app.app_context():
        name = cookie_name(tenant.id)
        [set_cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(name)]
        token = set_cookie.split(";", 1)[0].split("=", 1)[1]
        assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie
        session = db.session.scalars(
            db.select(BrowserSession)
            .where(BrowserSession.user_id == ada.id)
            .order_by(BrowserSession.id.desc())
        ).first()
        assert session.tenant_id == tenant.id and session.token_digest == digest(token)
        assert session.amr == ["pwd"] and session.ended_at is None
        assert session.user_agent == "bench/1" and session.ip == "127.0.0.1"
        assert session.auth_time == session.last_seen_at == session.created_at
        hours = settings_service.DEFAULTS["session_max_hours"]
        assert session.expires_at - session.auth_time == timedelta(hours=hours)
        user = db.session.get(User, ada.id)
        assert user.last_login_at == session.auth_time and user.failed_logins == 0
        # nothing else of the user's row changed (the UPDATE sets last_login_at only)
        assert (user.id, user.email, user.created_at) == (ada.id, ada.email, ada.created_at)
        audit = db.session.scalars(
            db.select(AuditEvent)
            .where(AuditEvent.action == "login.succeeded")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert audit.tenant_id == tenant.id
        assert (audit.actor_type, audit.actor_id) == ("user", ada.id)
        assert (audit.target_type, audit.target_id) == ("user", ada.id)
        assert audit.data == {"session_id": session.id, "amr": ["pwd"]}
        assert audit.user_agent == "bench/1" and audit.ip == "127.0.0.1" and audit.request_id
        event = db.session.scalars(
            db.select(Event).where(Event.type == "session.created").order_by(Event.id.desc())
        ).first()
        assert event.tenant_id == tenant.id and event.dispatched_at is None
        assert event.data["id"] == session.id and event.data["user_id"] == ada.id
        assert event.data["expires_at"] and event.data["user_agent"] == "bench/1"
    assert client.get("/account").status_code == 200  # the cookie is the new session's


def test_signing_in_again_ends_the_previous_session(app, tenant, ada, tenant_client):
    """Rotation at a new sign-in (prompt=login): the old row is ended (an ORM change,
    flushed before the new session's INSERT), the new one is live."""
    from app.models import BrowserSession

    client = tenant_client(tenant)
    assert post_login(client).status_code == 302
    html = login_page(client, "/login?prompt=login")
    data = {"csrf_token": csrf_from(html), "email": "ada@example.com", "password": PASSWORD}
    assert client.post("/login", data=data).status_code == 302
    with app.app_context():
        rows = db.session.scalars(
            db.select(BrowserSession)
            .where(BrowserSession.user_id == ada.id)
            .order_by(BrowserSession.id)
        ).all()
    assert len(rows) == 2 and rows[0].ended_at is not None and rows[1].ended_at is None
    assert client.get("/account").status_code == 200


def test_the_code_insert_holds_the_authorization(app, tenant, ada, tenant_client):
    """The signed-in authorization writes its code with one INSERT (2 statements +
    COMMIT), bound to the tenant, client, user and session, redeemable once."""
    from urllib.parse import parse_qs
    from urllib.parse import urlsplit

    from app.models import AuthorizationCode
    from app.models import BrowserSession
    from app.security.tokens import digest
    from tests.support.oauth import exchange

    client = tenant_client(tenant)
    rp = make_client(app, tenant)
    assert post_login(client).status_code == 302
    verifier, challenge = pkce_pair()
    assert authorize(client, rp, verifier_challenge=challenge).status_code == 302  # warm
    with round_trips(app) as seen:
        response = authorize(client, rp, verifier_challenge=challenge, nonce="n-1")
    assert [s.split()[0] for s in seen] == ["SELECT", "INSERT", "COMMIT"], seen
    assert seen[1].startswith("INSERT INTO authorization_codes"), seen
    code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
    with app.app_context():
        row = db.session.scalars(
            db.select(AuthorizationCode).where(AuthorizationCode.code_digest == digest(code))
        ).one()
        session = db.session.get(BrowserSession, row.session_id)
        assert row.tenant_id == tenant.id and row.client_id == rp.client_id
        assert row.user_id == ada.id and session.user_id == ada.id
        assert row.auth_time == session.auth_time and row.amr == ["pwd"]
        assert row.nonce == "n-1" and row.code_challenge == challenge
        assert row.code_challenge_method == "S256" and row.used_at is None
        assert row.grant_id is None and row.resources == [] and row.id.startswith("cod_")
        assert 0 < (row.expires_at - row.created_at).total_seconds() <= 60
    first = exchange(client, rp, code, verifier)
    assert first.status_code == 200 and "id_token" in first.get_json()
    assert exchange(client, rp, code, verifier).status_code == 400  # once


def test_read_settings_follows_a_changed_row(app, tenant, tenant_client):
    """The snapshot's settings for the request's tenant while its row is unchanged; the
    row's own once the request changed them (not committed yet)."""
    from flask import g

    from app.tenancy import current_tenant
    from app.tenancy import load_request_tenant

    host = f"{tenant.slug}.{app.config['BASE_DOMAIN']}"
    with app.test_request_context("/login", base_url=f"http://{host}"):
        load_request_tenant()
        row = current_tenant._get_current_object()
        snapshot = g.tenant_config
        assert settings_service.read_settings(row) is snapshot.merged_settings
        assert settings_service.read_settings(snapshot) is snapshot.merged_settings
        row.settings = {**(row.settings or {}), "session_idle_minutes": 7}
        assert settings_service.read_settings(row)["session_idle_minutes"] == 7
        db.session.rollback()


@pytest.mark.parametrize(
    ("factors", "kind", "challenged"),
    [(["totp", "webauthn"], "totp", True), (["webauthn"], "totp", False), (["totp"], None, False)],
)
def test_the_second_factor_read_with_the_user_follows_the_policy(
    app, make_tenant, make_user, tenant_client, factors, kind, challenged
):
    """A confirmed factor of an allowed kind sends the password sign-in to the challenge;
    one of a kind the tenant no longer allows, or none, does not (mfa_policy optional)."""
    from app.models import MfaFactor
    from app.models.base import utcnow

    tenant = make_tenant("acme-corp", "Acme Corp", mfa_policy="optional", mfa_factors=factors)
    ada = make_user(tenant, password=PASSWORD)
    if kind:
        with app.app_context():
            db.session.add(
                MfaFactor(
                    tenant_id=tenant.id,
                    user_id=ada.id,
                    kind=kind,
                    name="phone",
                    secret_encrypted="x",
                    confirmed_at=utcnow(),
                )
            )
            db.session.commit()
    response = post_login(tenant_client(tenant))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/mfa/") if challenged else location == "/account/", location


def test_a_disabled_user_is_still_signed_out_by_the_joined_load(app, tenant, ada, tenant_client):
    from app.models import User

    client = tenant_client(tenant)
    assert post_login(client).status_code == 302
    assert client.get("/account").status_code == 200
    with app.app_context():
        row = db.session.get(User, ada.id)
        row.status = "disabled"
        db.session.commit()
    assert client.get("/account").status_code == 302  # back to /login


# --- the per-snapshot page cache ------------------------------------------------------------


def test_branding_and_picker_are_per_tenant(app, make_tenant, tenant_client):
    acme = make_tenant("acme-corp", "Acme Corp", branding={"primary_color": "#112233"})
    globex = make_tenant(
        "globex", "Globex", locales=["en", "fr"], branding={"primary_color": "#445566"}
    )
    for _ in range(2):  # the second round is served from each snapshot
        acme_html = login_page(tenant_client(acme))
        globex_html = login_page(tenant_client(globex))
        assert "Acme Corp" in acme_html and "Globex" not in acme_html
        assert "Globex" in globex_html and "Acme Corp" not in globex_html
        assert "#112233" in acme_html and "#445566" in globex_html
        assert 'value="de"' in picker(acme_html) and 'value="de"' not in picker(globex_html)
        assert 'value="fr"' in picker(globex_html)


def test_the_picker_is_per_language(tenant, tenant_client):
    client = tenant_client(tenant)
    for _ in range(2):
        english = picker(login_page(client, **{"Accept-Language": "en"}))
        spanish = picker(login_page(client, **{"Accept-Language": "es"}))
        assert ">Language<" in english and 'value="en" lang="en" selected' in english
        assert ">Idioma<" in spanish and 'value="es" lang="es" selected' in spanish
        assert 'value="en" lang="en" selected' not in spanish


def test_the_picker_is_per_url_form(tenant, tenant_client):
    host_form = picker(login_page(tenant_client(tenant)))
    path_form = picker(login_page(tenant_client(tenant, path_form=True)))
    assert 'action="/language"' in host_form
    assert f'action="/t/{tenant.slug}/language"' in path_form


def test_csrf_token_and_return_path_stay_per_request(tenant, tenant_client):
    first, second = tenant_client(tenant), tenant_client(tenant)
    html_1 = login_page(first, "/login?next=/account")
    html_2 = login_page(second, "/login")
    token_1, token_2 = picker_field(html_1, "csrf_token"), picker_field(html_2, "csrf_token")
    assert token_1 and token_2 and token_1 != token_2  # two browsers, two CSRF secrets
    assert token_1 == csrf_from(html_1)  # the same token as the page's own form
    assert picker_field(html_1, "return_to") == "/login?next=/account"
    assert picker_field(html_2, "return_to") == "/login"
    # and the cached picker still posts: the token is this browser's
    response = first.post(
        "/language", data={"csrf_token": token_1, "lang": "fr", "return_to": "/login"}
    )
    assert response.status_code == 302
    assert 'value="fr" lang="fr" selected' in picker(login_page(first))


def test_a_branding_change_is_shown_at_once(app, tenant, tenant_client):
    client = tenant_client(tenant)
    html = login_page(client)
    assert "Acme Corp" in html
    configure(app, tenant, branding={"display_name": "Acme Sign-in", "primary_color": "#0a7a0a"})
    html = login_page(client)
    assert "Acme Sign-in" in html and "#0a7a0a" in html


def test_a_locales_change_rebuilds_the_picker(app, tenant, tenant_client):
    client = tenant_client(tenant)
    assert 'value="de"' in picker(login_page(client))
    configure(app, tenant, locales=["en", "es"])
    html = picker(login_page(client))
    assert 'value="de"' not in html and 'value="es"' in html
    configure(app, tenant, locales=["en"])
    assert "language-switcher" not in login_page(client)  # one language: no picker


def test_a_sign_up_mode_change_hides_the_sign_up_link(app, tenant, tenant_client):
    client = tenant_client(tenant)
    assert "Create an account" in login_page(client)
    configure(app, tenant, signup_mode="closed")
    assert "Create an account" not in login_page(client)


# --- the prepared blank sign-in page ----------------------------------------------------------

_PER_REQUEST_RE = re.compile(r'((?:name="csrf_token" type="hidden" value|data-csrf|nonce)=")[^"]*"')


@contextmanager
def captured_templates(app):
    from flask import template_rendered

    names = []

    def record(sender, template, context, **extra):
        names.append(template.name)

    template_rendered.connect(record, app)
    try:
        yield names
    finally:
        template_rendered.disconnect(record, app)


def _without_per_request_values(html: str) -> str:
    """The page with its CSRF tokens and CSP nonce blanked (they change per request)."""
    return _PER_REQUEST_RE.sub(r'\1"', html)


NEXT_VALUES = [
    "",
    "/oauth2/authorize?client_id=cli_1&state=a%20b&redirect_uri=https%3A%2F%2Frp.example%2Fcb",
    "/account?q=\"<script>'&x=1 2+3;@!$*(),/:",
    "/ünïcode/päth?ü=ß",
    "//evil.example/",  # not kept by the page: rendered as usual
    "/ok\\evil",
]


@pytest.mark.parametrize("next_", NEXT_VALUES)
@pytest.mark.parametrize("path_form", [False, True])
def test_the_prepared_login_page_is_the_rendered_one(
    app, make_tenant, tenant_client, monkeypatch, next_, path_form
):
    """Every method the page can show (password, email code link, passkey, an upstream
    provider, the sign-up link, the language picker): the prepared page, filled for this
    request, is the page render_template makes, but for the per-request CSRF token and
    nonce; and those are this request's."""
    from urllib.parse import urlencode

    from flask import render_template

    from app.auth import routes
    from app.services import providers as providers_service

    tenant = make_tenant(
        "acme-corp",
        "Acme Corp",
        login_methods=["email_code", "passkey", "password", "upstream"],
        passwordless_passkeys=True,
        locales=["en", "fr"],
    )
    with app.app_context():
        providers_service.create_provider(
            tenant, {"kind": "github", "name": "Hub <&>", "client_id": "b", "client_secret": "s"}
        )
        db.session.commit()
    client = tenant_client(tenant, path_form=path_form)
    path = "/login" + (f"?{urlencode({'next': next_})}" if next_ else "")
    login_page(client, path)  # prepares it (or not)
    kept = next_ not in ("//evil.example/", "/ok\\evil")
    for language in ("en", "fr"):
        headers = {"Accept-Language": language}
        login_page(client, path, **headers)  # prepares this language's
        with captured_templates(app) as templates:
            prepared = login_page(client, path, **headers)
        assert (templates == []) == kept, templates  # prepared: nothing rendered
        with monkeypatch.context() as patch:
            patch.setattr(
                routes,
                "blank_form_page",
                lambda t, make_form, next_value="": render_template(t, form=make_form()),
            )
            rendered = login_page(client, path, **headers)
        assert _without_per_request_values(prepared) == _without_per_request_values(rendered)
        assert "\x00" not in prepared and "%00" not in prepared
        assert 'class="upstream-buttons"' in prepared and "data-passkey" in prepared
        tokens = set(re.findall(r'name="csrf_token" type="hidden" value="([^"]*)"', prepared))
        tokens |= set(re.findall(r'data-csrf="([^"]*)"', prepared))
        assert len(tokens) == 1 and "\x00" not in tokens.pop()
    # the CSRF token it carries is good for this browser's POST
    data = {"csrf_token": csrf_from(prepared), "email": "nobody@example.com", "password": "x"}
    assert client.post("/login", data=data).status_code == 401


def test_the_prepared_login_page_is_per_tenant_and_per_request(app, make_tenant, tenant_client):
    """Two tenants and two visitors: each page has its own tenant's name, its own next,
    nonce and CSRF token."""
    from urllib.parse import quote

    first, second = make_tenant("acme-corp", "Acme Corp"), make_tenant("globex", "Globex")
    pages = {}
    for tenant in (first, second, first, second):
        for n in (1, 2):
            client = tenant_client(tenant)
            html = login_page(client, f"/login?next={quote(f'/account?n={n}')}")
            pages.setdefault((tenant.slug, n), []).append(html)
    for (slug, n), (one, two) in pages.items():
        assert ("Acme Corp" in one) == (slug == "acme-corp") and ("Globex" in one) == (
            slug == "globex"
        )
        assert f'name="next" type="hidden" value="/account?n={n}"' in one, one
        assert csrf_from(one) != csrf_from(two)
        assert re.search(r'nonce="([^"]+)"', one).group(1) != re.search(
            r'nonce="([^"]+)"', two
        ).group(1)


def test_a_flashed_message_is_shown_once_on_the_login_page(app, tenant, ada, tenant_client):
    """A page with a flashed message is rendered as usual (and the message is consumed)."""
    client = tenant_client(tenant)
    assert post_login(client).status_code == 302
    html = login_page(client, "/account")  # signed in
    response = client.post("/logout", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 302
    first = login_page(client)
    assert "You are signed out." in first
    assert "You are signed out." not in login_page(client)


# --- Flask-Limiter on the pages no limit applies to ---------------------------------------


@pytest.fixture
def limit_checks(monkeypatch):
    """The endpoints whose rate limits Flask-Limiter looked up (its before-request check
    and the views' decorators: not exempted by a request filter), in order."""
    from flask_limiter import Limiter

    seen = []
    exempt = Limiter._Limiter__check_all_limits_exempt

    def spy(self, endpoint):
        exempted = exempt(self, endpoint)
        if not exempted:
            seen.append(endpoint)
        return exempted

    monkeypatch.setattr(Limiter, "_Limiter__check_all_limits_exempt", spy)
    return seen


@pytest.mark.config(LOGIN_RATE_LIMIT="2 per minute", LOGIN_ACCOUNT_RATE_LIMIT="2 per minute")
def test_pages_no_limit_applies_to_skip_the_limiter(app, tenant, ada, tenant_client, limit_checks):
    """GET /login and GET /oauth2/authorize are never limited (the login limits count
    POSTs only): Flask-Limiter is not asked; a POST /login still is, every attempt, once
    (its before-request pass, which finds instance-wide limits only, is skipped), and a
    page limited on every method (/device) still is on a GET."""
    client = tenant_client(tenant)
    rp = make_client(app, tenant)
    for _ in range(3):
        assert authorize(client, rp).status_code == 302
        login_page(client)
    assert limit_checks == []
    wrong = {"csrf_token": csrf_from(login_page(client)), "email": "ada@example.com"}
    assert client.post("/login", data={**wrong, "password": "nope"}).status_code == 401
    assert limit_checks == ["auth.login"]  # the decorators' pass (its limits), not the hook's
    assert client.post("/login", data={**wrong, "password": "nope"}).status_code == 401
    assert client.post("/login", data={**wrong, "password": PASSWORD}).status_code == 429
    limit_checks.clear()
    client.get("/device")
    assert "device.verify" in limit_checks, limit_checks


def test_no_limit_applies_only_without_instance_wide_limits(app, tenant, monkeypatch):
    """With a default, application or meta limit configured, every page is evaluated."""
    from flask import g

    from app.extensions import limiter
    from app.web.hooks import no_limit_applies

    host = f"{tenant.slug}.gatehouse.test"
    with app.test_request_context("/login", base_url=f"http://{host}"):
        assert no_limit_applies()
    with app.test_request_context("/login", method="POST", base_url=f"http://{host}"):
        assert no_limit_applies()  # the before-request pass: no instance-wide limits
        g.throttled_view = True
        assert not no_limit_applies()  # the view's decorators: its limits count
    with app.test_request_context("/device", base_url=f"http://{host}"):
        assert not no_limit_applies()  # its limits count GETs too
    for name in ("_default_limits", "_application_limits", "_blueprint_limits"):
        with monkeypatch.context() as patch:
            patch.setattr(limiter.limit_manager, name, {"x": 1} if "blue" in name else [1])
            with app.test_request_context("/login", base_url=f"http://{host}"):
                assert not no_limit_applies(), name
    with monkeypatch.context() as patch:
        patch.setattr(limiter, "_meta_limits", [1])
        with app.test_request_context("/login", base_url=f"http://{host}"):
            assert not no_limit_applies()
    # A Flask-Limiter release without the private state read here: limits are evaluated.
    for owner, name in ((limiter.limit_manager, "_default_limits"), (limiter, "_meta_limits")):
        with monkeypatch.context() as patch:
            patch.delattr(owner, name)
            with app.test_request_context("/login", base_url=f"http://{host}"):
                assert not no_limit_applies(), name


@pytest.mark.config(WTF_CSRF_ENABLED=False)
def test_the_prepared_login_page_without_csrf_is_the_rendered_one(
    app, tenant, tenant_client, monkeypatch
):
    """With Flask-WTF's CSRF check off (WTF_CSRF_ENABLED, tests and development) the
    templates still call csrf_token(): its slot is filled too (it kept a NUL slot)."""
    from flask import render_template

    from app.auth import routes

    client = tenant_client(tenant)
    login_page(client, "/login?next=/account")
    with captured_templates(app) as templates:
        prepared = login_page(client, "/login?next=/account")
    assert templates == []
    with monkeypatch.context() as patch:
        patch.setattr(
            routes,
            "blank_form_page",
            lambda t, make_form, next_value="": render_template(t, form=make_form()),
        )
        rendered = login_page(client, "/login?next=/account")
    assert "\x00" not in prepared and "%00" not in prepared  # every slot filled
    assert csrf_from(prepared)
    assert _without_per_request_values(prepared) == _without_per_request_values(rendered)


def test_a_signed_in_login_page_still_leaves_a_csrf_token(app, tenant, ada, tenant_client):
    """GET /login when signed in redirects on (no page), and, as before, puts a CSRF
    token in the cookie session (the next form's token is good)."""
    client = tenant_client(tenant)
    assert post_login(client).status_code == 302
    response = client.get("/login?next=/account")
    assert response.status_code == 302 and response.headers["Location"] == "/account"
    cookie = app.config["SESSION_COOKIE_NAME"] + "="
    assert any(c.startswith(cookie) for c in response.headers.getlist("Set-Cookie"))


# --- the tenant row, made on first use ------------------------------------------------------


@pytest.fixture
def rows_made(monkeypatch):
    """The paths of the requests that made a tenant row (tenant_snapshot.materialize)."""
    from flask import request

    from app import tenant_snapshot

    made = []
    materialize = tenant_snapshot.materialize

    def spy(snapshot):
        made.append(request.path)
        return materialize(snapshot)

    monkeypatch.setattr(tenant_snapshot, "materialize", spy)
    return made


def test_the_sign_in_pages_make_no_tenant_row_until_the_password_post(
    app, tenant, ada, tenant_client, rows_made
):
    """The bench's flow: the authorize redirect, the login page (warm), the signed-in
    authorization and its code read the tenant's snapshot; the password POST (which
    writes the sign-in) makes the row, as before."""
    from tests.support.oauth import exchange
    from tests.support.oauth import query_of

    client = tenant_client(tenant)
    rp = make_client(app, tenant)
    verifier, challenge = pkce_pair()
    login_page(client, authorize(client, rp).headers["Location"])  # prepares the page
    rows_made.clear()  # (rendering it made a row)
    first = authorize(client, rp, verifier_challenge=challenge)
    assert first.status_code == 302 and "/login?next=" in first.headers["Location"]
    html = login_page(client, first.headers["Location"])
    assert rows_made == [], rows_made
    data = {"csrf_token": csrf_from(html), "email": "ada@example.com", "password": PASSWORD}
    assert client.post("/login", data=data).status_code == 302
    assert rows_made == ["/login"], rows_made
    response = authorize(client, rp, verifier_challenge=challenge)
    assert response.status_code == 302 and "code=" in response.headers["Location"]
    assert rows_made == ["/login"], rows_made
    query = query_of(response)
    assert re.fullmatch(r"[A-Za-z0-9_-]{48}", query["code"]), query
    assert query["iss"] == f"http://{tenant.slug}.gatehouse.test"
    tokens = exchange(client, rp, query["code"], verifier)
    assert tokens.status_code == 200 and tokens.get_json()["access_token"]


def test_the_lazy_tenant_row_reads_like_an_attribute(app, tenant):
    """g.tenant of a browser request: made by attribute, get, in, pop or setdefault;
    set, it is replaced and never made; a protocol request's is the snapshot."""
    from flask import g

    from app.models import Tenant
    from app.tenancy import load_request_tenant
    from app.tenancy import reading_tenant

    host = f"{tenant.slug}.gatehouse.test"
    reads = (
        lambda: g.tenant,
        lambda: g.get("tenant"),
        lambda: g.setdefault("tenant"),
        lambda: g.pop("tenant"),
    )
    for read in reads:
        with app.test_request_context("/login", base_url=f"http://{host}"):
            load_request_tenant()
            assert "tenant" in g and reading_tenant() is g.tenant_config
            row = read()
            assert isinstance(row, Tenant) and row.id == tenant.id
    with app.test_request_context("/login", base_url=f"http://{host}"):
        load_request_tenant()
        g.tenant = "replaced"
        assert g.tenant == "replaced" and g.get("tenant") == "replaced"
        assert reading_tenant() == "replaced"
    with app.test_request_context("/.well-known/jwks.json", base_url=f"http://{host}"):
        load_request_tenant()
        assert g.tenant is g.tenant_config is reading_tenant()


# --- per-request hooks ----------------------------------------------------------------------


def test_page_headers_are_set_once_and_a_views_own_are_kept(app, tenant, tenant_client):
    """The security headers of a page: each once, in the order setdefault gave them; a
    header the view set (a logo's CSP, case aside) is kept, not doubled."""
    client = tenant_client(tenant)
    response = client.get("/login")
    names = [name for name, _ in response.headers if name != "Set-Cookie"]
    expected = [
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "X-Frame-Options",
        "Cross-Origin-Opener-Policy",
        "Permissions-Policy",
        "X-Request-Id",
    ]
    assert [n for n in names if n in expected] == expected, names
    nonce = re.search(r'nonce="([^"]+)"', response.get_data(as_text=True)).group(1)
    assert f"'nonce-{nonce}'" in response.headers["Content-Security-Policy"]

    from flask import make_response

    from app.web.hooks import _security_headers

    with app.test_request_context("/login", base_url=f"https://{tenant.slug}.gatehouse.test"):
        own = make_response("x")
        own.headers["content-security-policy"] = "default-src 'none'"
        own.headers["X-Frame-Options"] = "SAMEORIGIN"
        headers = _security_headers(own).headers
        assert headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
        assert headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
        assert headers["Strict-Transport-Security"].startswith("max-age=")
        assert headers.getlist("Referrer-Policy") == ["same-origin"]


def test_the_session_cookie_serializer_follows_the_secret_keys(app):
    """Built once per secret key and fallbacks: a new key (or fallback) builds another."""
    from app.web.session import SessionCookies

    interface = app.session_interface
    assert isinstance(interface, SessionCookies)
    first = interface.get_signing_serializer(app)
    assert interface.get_signing_serializer(app) is first
    cookie = first.dumps({"a": 1})
    old_key, old_fallbacks = app.secret_key, app.config["SECRET_KEY_FALLBACKS"]
    try:
        app.secret_key = "another secret key, long enough for the test"
        app.config["SECRET_KEY_FALLBACKS"] = [old_key]
        second = interface.get_signing_serializer(app)
        assert second is not first and second.loads(cookie) == {"a": 1}
        app.config["SECRET_KEY_FALLBACKS"] = []
        third = interface.get_signing_serializer(app)
        assert third is not second
        import itsdangerous

        with pytest.raises(itsdangerous.BadSignature):
            third.loads(cookie)
    finally:
        app.secret_key, app.config["SECRET_KEY_FALLBACKS"] = old_key, old_fallbacks


# --- the sign-in's four rows in one statement (PostgreSQL), and when it is not ---------------


@pytest.mark.parametrize("case", ["one_statement", "changed_first", "no_event"])
def test_a_deferred_session_insert_is_always_written(app, tenant, ada, case):
    """sessions.start_session(write=False) + audit.record_now(with_session=...): on
    PostgreSQL one statement when the audit yields the session's event; a session changed
    in between is written first (its UPDATE then finds the row), and an audit without an
    event writes the session on its own first. The rows are there in every case."""
    from sqlalchemy import event as sa_event

    from app.models import AuditEvent
    from app.models import BrowserSession
    from app.models import Event
    from app.models import User
    from app.services import audit
    from app.services import sessions

    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split())[:60])

    with app.test_request_context("/login", base_url=f"http://{tenant.slug}.gatehouse.test"):
        row = db.session.get(type(tenant), tenant.id)
        user = db.session.get(User, ada.id)
        engine = db.engine
        sa_event.listen(engine, "before_cursor_execute", count)
        try:
            session, _token = sessions.start_session(row, user, amr=["pwd"], write=False)
            if case == "changed_first":
                session.ip = "10.0.0.9"
            action = "login.succeeded" if case != "no_event" else "login.other_thing"
            audit.record_now(
                row,
                action,
                target_type="user",
                target_id=user.id,
                with_session=session,
                session_id=session.id,
            )
            assert sessions.pending_insert(session) is None
            db.session.commit()
        finally:
            sa_event.remove(engine, "before_cursor_execute", count)
        writes = [s for s in statements if not s.startswith("SELECT")]
        if db.engine.dialect.name == "postgresql" and case == "one_statement":
            assert len(writes) == 1 and writes[0].startswith("WITH audit_row AS"), writes
        stored = db.session.get(BrowserSession, session.id)
        assert stored is not None and stored.user_id == ada.id
        assert stored.ip == ("10.0.0.9" if case == "changed_first" else "")
        assert db.session.get(User, ada.id).last_login_at == stored.auth_time
        audited = db.session.scalars(
            db.select(AuditEvent).where(AuditEvent.target_id == ada.id)
        ).all()
        assert [a.action for a in audited if a.action.startswith("login.")] == [action]
        created = db.session.scalars(db.select(Event).where(Event.type == "session.created"))
        assert [e.data["id"] for e in created] == ([] if case == "no_event" else [session.id])
