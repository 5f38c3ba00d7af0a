"""Tenant export → import into another Gatehouse (a second database) → export again:
an equivalent tenant whose users sign in with their old passwords. With DATABASE_URL on
PostgreSQL the second database is SQLite, so the trip is PostgreSQL → SQLite → PostgreSQL;
otherwise SQLite → SQLite."""

import copy
import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Tenant
from tests.conftest import DEFAULT_PASSWORD
from tests.support.auth import sign_in
from tests.support.client_keys import make_key
from tests.support.database import create_test_database
from tests.support.database import is_postgres
from tests.support.database import reset_rows
from tests.support.http import TenantClient
from tests.support.imports import Importer
from tests.support.imports import bcrypt_hash

HOST = "acme-corp.gatehouse.test"

CLIENT_JWKS = {"keys": [make_key("ES256", kid="acme-app").public_jwk]}


@pytest.fixture
def second_app(make_app, tmp_path, monkeypatch):
    """Another Gatehouse on its own database (of the other kind when possible)."""
    if is_postgres():
        monkeypatch.delenv("DATABASE_URL")
    url, drop = create_test_database(tmp_path)
    monkeypatch.undo()
    other = make_app(SQLALCHEMY_DATABASE_URI=url)
    with other.app_context():
        db.create_all()
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


def _populate(app, tenant, make_user):
    from app.services import clients
    from app.services import orgs
    from app.services import providers
    from app.services import roles
    from app.services import settings
    from app.services import users

    ada = make_user(tenant, "ada@example.com", roles=("admin",))
    with app.app_context():
        t = db.session.merge(tenant)
        settings.update_settings(t, {"password_min_length": 14, "signup_mode": "invite_only"})
        roles.create_role(t, "tenant", "auditor", "Reads the audit log")
        roles.create_role(t, "org", "billing", "Pays")
        org = orgs.create_org(t, "Engineering", "eng", domains=["eng.example.com"])
        orgs.add_member(t, org, db.session.merge(ada), ["owner", "billing"])
        providers.create_provider(t, {"kind": "github", "client_id": "gh", "client_secret": "s"})
        from app.services import permissions
        from app.services import resources

        api = resources.create_resource(
            t,
            {
                "identifier": "https://api.acme.example",
                "name": "Acme API",
                "permissions": [{"name": "read:audit", "description": "Read the audit log"}],
                "access_token_ttl_seconds": 300,
            },
        )
        auditor = roles.get_role(t, "auditor", "tenant")
        entry = [{"resource": api.identifier, "permission": "read:audit"}]
        permissions.set_role_permissions(t, auditor, entry)
        client, secret = clients.create_client(
            t,
            {
                "client_name": "Acme App",
                "grant_types": ["client_credentials"],
                "resource_grants": [{"resource": api.identifier, "permissions": ["read:audit"]}],
                "jwks": CLIENT_JWKS,  # for its signed request objects
            },
        )
        users.update_user(t, db.session.merge(ada), {"metadata": {"tier": "gold"}})
        db.session.commit()
    _, job = Importer(app).upload(
        "acme-corp",
        [
            {
                "email": "bob@example.com",
                "password_hash": bcrypt_hash("bob-old-password-1"),
                "external_id": "legacy-bob",
                "roles": ["auditor"],
                "identities": [{"provider": "github", "subject": "gh-bob"}],
            }
        ],
    )
    assert job["errors"] == []
    return client.id, secret


def _export(app) -> dict:
    result = app.test_cli_runner().invoke(args=["export", "acme-corp"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _import(app, document: dict):
    result = app.test_cli_runner().invoke(args=["import", "acme-corp"], input=json.dumps(document))
    assert result.exit_code == 0, result.output
    return result


def _comparable(document: dict) -> dict:
    """The document without what may differ: the time, the tenant id, password hashes
    (an imported hash becomes argon2id at the first sign-in)."""
    document = copy.deepcopy(document)
    document.pop("exported_at")
    document["tenant"].pop("id")
    for user in document["users"]:
        user["password_hash"] = bool(user["password_hash"])
    return document


def test_round_trip_keeps_an_equivalent_tenant(app, tenant, make_user, second_app, make_app):
    client_id, secret = _populate(app, tenant, make_user)
    exported = _export(app)
    assert exported["providers"][0].get("client_secret") is None
    assert all(u["password_hash"] for u in exported["users"])

    assert exported["resources"][0]["identifier"] == "https://api.acme.example"
    auditor = next(r for r in exported["roles"] if r["name"] == "auditor")
    assert auditor["permissions"] == [
        {"resource": "https://api.acme.example", "permission": "read:audit"}
    ]
    assert exported["clients"][0]["resource_grants"][0]["permissions"] == ["read:audit"]
    assert exported["clients"][0]["jwks"] == CLIENT_JWKS

    result = _import(second_app, exported)  # creates the tenant there
    assert "set its client secret again" in result.output
    browser = TenantClient(second_app.test_client(), HOST)
    assert sign_in(browser, "ada@example.com", DEFAULT_PASSWORD).status_code == 302
    assert (
        sign_in(
            TenantClient(second_app.test_client(), HOST), "bob@example.com", "bob-old-password-1"
        ).status_code
        == 302
    )
    with second_app.app_context():
        from app.services import clients

        copy = db.session.scalar(select(Tenant).where(Tenant.slug == "acme-corp"))
        assert copy.id != tenant.id or not is_postgres()
        assert clients.check_client_secret(clients.get_client(copy, client_id), secret)
        assert clients.get_client(copy, client_id).jwks == CLIENT_JWKS

    # Exporting the copy gives the same document (bob's hash is argon2id now: he signed in).
    again = _export(second_app)
    assert _comparable(again) == _comparable(exported)

    # And back: into the first database, emptied.
    with app.app_context():
        reset_rows(db)
    _import(app, again)
    fresh = make_app()  # a worker that never cached the deleted tenant
    assert (
        sign_in(
            TenantClient(fresh.test_client(), HOST), "bob@example.com", "bob-old-password-1"
        ).status_code
        == 302
    )
    back = _export(app)
    assert _comparable(back) == _comparable(exported)
    # Importing the same export once more changes nothing.
    result = _import(app, back)
    assert "0 created, 0 updated, 0 errors" in result.output


def test_signing_keys_travel_only_with_the_flag(app, tenant, second_app):
    from app.services import keys

    with app.app_context():
        keys.ensure_keys(db.session.merge(tenant))
        db.session.commit()
    plain = _export(app)
    assert "signing_keys" not in plain
    result = app.test_cli_runner().invoke(args=["export", "acme-corp", "--with-signing-keys"])
    document = json.loads(result.stdout)
    assert {k["alg"] for k in document["signing_keys"]} == {"RS256", "ES256"}
    _import(second_app, document)
    first = TenantClient(app.test_client(), HOST).get("/.well-known/jwks.json").get_json()
    second = TenantClient(second_app.test_client(), HOST).get("/.well-known/jwks.json").get_json()
    assert first == second
