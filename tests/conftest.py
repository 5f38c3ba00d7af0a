"""Fixtures are nouns (app, client, tenant, other_tenant, user); builders are make_*.

The suite runs on SQLite by default and on PostgreSQL when DATABASE_URL is set. The
schema is created once per process; rows are wiped after every test.
"""

from __future__ import annotations

import os
import shutil

import pytest

from app import create_app
from app.extensions import db
from tests.support.database import create_test_database
from tests.support.database import reset_rows
from tests.support.http import TenantClient
from tests.support.oauth import make_client
from tests.support.oauth import sign_in

BASE_DOMAIN = "gatehouse.test"
DEFAULT_PASSWORD = "correct horse battery staple"

# Cheap hashing for speed; tests of hashing itself ask for production parameters.
TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-that-is-long-enough-for-production-checks",
    "BASE_DOMAIN": BASE_DOMAIN,
    "URL_SCHEME": "http",
    "TENANT_ROUTING": "subdomain",
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 8,
    "ARGON2_PARALLELISM": 1,
    "RATELIMIT_STORAGE_URI": "memory://",
    "SMTP_URL": None,
    "REDIS_URL": None,
    "SERVER_NAME": None,
    # A commit that queued mail runs the worker's mail pass at once (the real worker
    # code, synchronously), so tests read delivered mail as before.
    "OUTBOX_DRAIN_ON_COMMIT": True,
    # Usage counters: no background thread; tests flush with app.services.usage.flush().
    "USAGE_BACKGROUND": False,
}


def pytest_configure(config):
    config.addinivalue_line("markers", "config(**settings): override app config for a test")


def pytest_terminal_summary(terminalreporter):
    """Browser tests skipped for want of Chromium are said loudly, at the end of the run."""
    skipped = [
        r for r in terminalreporter.stats.get("skipped", []) if NO_CHROMIUM in str(r.longrepr)
    ]
    if not skipped:
        return
    terminalreporter.section("BROWSER TESTS NOT RUN", sep="!", red=True, bold=True)
    terminalreporter.line(
        f"{len(skipped)} browser tests were SKIPPED: {NO_CHROMIUM} at {CHROMIUM}. "
        "Install it (apt-get install -y chromium) to run them; with CI=true they fail instead.",
        red=True,
        bold=True,
    )


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url, drop = create_test_database(tmp_path_factory.mktemp("db"))
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    yield url
    drop()


@pytest.fixture
def make_app(database_url, request):
    """Build an app on the test database with config overrides."""
    apps = []

    def factory(**overrides):
        config = {**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, **overrides}
        created = create_app(config)
        apps.append(created)
        return created

    yield factory
    for created in apps:
        with created.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app, request):
    overrides = {}
    marker = request.node.get_closest_marker("config")
    if marker:
        overrides.update(marker.kwargs)
    if "smtp_server" in request.fixturenames:
        overrides["SMTP_URL"] = request.getfixturevalue("smtp_server").url
    application = make_app(**overrides)
    with application.app_context():
        _seed_system_tenant()
        db.session.commit()
    # No app context stays pushed: each request gets its own, as in production (a
    # shared one would share ``g`` and the session between requests). Tests that
    # touch the database directly open ``with app.app_context():``.
    yield application
    with application.app_context():
        reset_rows(db)


def _seed_system_tenant():
    from app.models import Tenant
    from app.services.roles import ensure_builtin_roles

    system = Tenant(
        slug="system", name="Gatehouse", status="active", settings={"signup_mode": "closed"}
    )
    db.session.add(system)
    db.session.flush()
    ensure_builtin_roles(system)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def host_of(tenant, base_domain: str = BASE_DOMAIN) -> str:
    return base_domain if tenant.is_system else f"{tenant.slug}.{base_domain}"


@pytest.fixture
def tenant_client(app):
    """``tenant_client(tenant, path_form=False)``: a fresh browser-like client for a tenant."""

    def build(tenant, *, path_form: bool = False):
        raw = app.test_client()
        if path_form:
            return TenantClient(raw, BASE_DOMAIN, prefix=f"/t/{tenant.slug}")
        return TenantClient(raw, host_of(tenant))

    return build


@pytest.fixture
def make_tenant(app):
    from app.services import tenants

    def build(slug: str = "acme-corp", name: str | None = None, **settings):
        with app.app_context():
            tenant = tenants.create_tenant(name or slug.replace("-", " ").title(), slug)
            if settings:
                from app.services.settings import update_settings

                update_settings(tenant, settings)
            db.session.commit()
            return tenant

    return build


@pytest.fixture
def tenant(make_tenant):
    return make_tenant("acme-corp", "Acme Corp")


@pytest.fixture
def other_tenant(make_tenant):
    return make_tenant("globex", "Globex")


@pytest.fixture
def make_user(app):
    from app.services import users

    def build(
        tenant,
        email: str = "ada@example.com",
        password: str | None = DEFAULT_PASSWORD,
        *,
        roles=("member",),
        name: str = "Ada Lovelace",
        email_verified: bool = True,
    ):
        with app.app_context():
            user = users.create_user(
                tenant,
                email,
                name=name,
                password=password,
                roles=list(roles),
                email_verified=email_verified,
            )
            db.session.commit()
            return user

    return build


@pytest.fixture
def user(tenant, make_user):
    return make_user(tenant)


@pytest.fixture
def smtp_server():
    from tests.support.smtp import SmtpServer

    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def live_server(app, make_app):
    """A threaded HTTP server on 127.0.0.1 sharing the test database."""
    from tests.support.live import LiveServer

    # The tests change rows through another app object than the server's, as another
    # worker would: turn the per-worker tenant cache off so changes show at once.
    overrides = {"TENANT_CACHE_TTL": 0}
    if app.config.get("SMTP_URL"):
        overrides["SMTP_URL"] = app.config["SMTP_URL"]
    server = LiveServer(lambda **kw: make_app(**{**overrides, **kw})).start()
    yield server
    server.stop()


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
NO_CHROMIUM = "Chromium is not installed"


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright; in CI a missing browser fails."""
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is required in CI: apt-get install -y chromium ({CHROMIUM})")
        pytest.skip(f"{NO_CHROMIUM} at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


ARTIFACTS = os.path.join(os.path.dirname(__file__), "..", "test-artifacts")


@pytest.fixture
def artifact_path():
    """``artifact_path("login.png")``: where to save screenshots kept by CI."""

    def build(name: str) -> str:
        os.makedirs(ARTIFACTS, exist_ok=True)
        return os.path.join(ARTIFACTS, name)

    return build


@pytest.fixture
def rp(app, tenant):
    """A confidential relying party of ``tenant`` (code flow, PKCE, refresh tokens)."""
    return make_client(app, tenant)


@pytest.fixture
def tc(app, tenant, user, tenant_client):
    """A browser on ``tenant``'s origin with ``user`` signed in."""
    client = tenant_client(tenant)
    sign_in(app, client, tenant, user)
    return client
