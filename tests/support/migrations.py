"""Testing a migration: upgrade a fresh database to the revision before it, put rows in,
then upgrade (and downgrade) across it with those rows present."""

from __future__ import annotations

import importlib.util
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from tests.conftest import TEST_CONFIG
from tests.support.database import create_test_database

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"

TENANT_ROW = (
    "INSERT INTO tenants (id, slug, name, status, settings, created_at) "
    "VALUES ('ten_A', 'acme', 'Acme', 'active', '{}', :now)"
)
USER_ROW = (
    "INSERT INTO users (id, tenant_id, email, name, email_verified, status, failed_logins, "
    "metadata, created_at) VALUES ('usr_A', 'ten_A', 'a@acme.example', 'Ada', true, 'active', "
    "0, '{}', :now)"
)


def revision_script(filename: str) -> ModuleType:
    """The revision file ``migrations/versions/<filename>`` as a module (``revision``,
    ``down_revision``, ``upgrade``, ``downgrade``)."""
    spec = importlib.util.spec_from_file_location(f"revision_{filename[:4]}", VERSIONS / filename)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def app_at(tmp_path, revision: str):
    """An app, inside its app context, on a fresh database upgraded to ``revision``; the
    database is dropped afterwards."""
    url, drop = create_test_database(tmp_path)
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    try:
        with app.app_context():
            upgrade(revision=revision)
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        drop()


# A client of tenant ten_A (``:f`` false, ``:now``; ``:method`` its authentication method)
# and a grant of it, for revisions that change clients or grants (0015 on).
CLIENT_ROW = (
    "INSERT INTO clients (id, tenant_id, client_name, redirect_uris, post_logout_redirect_uris, "
    "grant_types, response_types, token_endpoint_auth_method, scope, "
    "id_token_signed_response_alg, first_party, roles, disabled, created_at) VALUES ('cli_A', "
    "'ten_A', 'App', '[]', '[]', '[]', '[]', :method, 'openid', 'RS256', :f, '[]', :f, :now)"
)
GRANT_ROW = (
    "INSERT INTO grants (id, tenant_id, client_id, session_id, scope, amr, expires_at, "
    "resources, created_at) VALUES ('gnt_A', 'ten_A', 'cli_A', 'ses_A', 'openid', '[]', :now, "
    "'[]', :now)"
)
