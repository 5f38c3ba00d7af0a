"""Moving from Auth0: its bulk user export (NDJSON) and its password-hash export (bcrypt)
import with the documented mapping, and those users sign in with their old passwords."""

import json

from app.extensions import db
from app.models import User
from app.tenancy import scope
from tests.support.auth import sign_in
from tests.support.imports import Importer
from tests.support.imports import bcrypt_hash

JANE_PASSWORD = "Jane-original-auth0-password"
OMAR_PASSWORD = "Omar-original-auth0-password"


def _auth0_user_export(oid: str, email: str, **extra) -> dict:
    """One line of Auth0's bulk user export job (fields as Auth0 documents them)."""
    return {
        "user_id": f"auth0|{oid}",
        "email": email,
        "email_verified": True,
        "name": email,
        "given_name": email.split("@")[0].title(),
        "family_name": "Example",
        "nickname": email.split("@")[0],
        "picture": "https://s.gravatar.com/avatar/x.png",
        "created_at": "2021-03-05T16:40:04.591Z",
        "updated_at": "2024-01-02T10:00:00.000Z",
        "last_login": "2024-01-02T10:00:00.000Z",
        "logins_count": 7,
        "user_metadata": {"theme": "dark"},
        "app_metadata": {"plan": "enterprise"},
        "identities": [
            {
                "connection": "Username-Password-Authentication",
                "provider": "auth0",
                "user_id": oid,
                "isSocial": False,
            }
        ],
        **extra,
    }


def _auth0_hash_export(oid: str, email: str, password: str) -> dict:
    """One line of the password-hash export Auth0 support provides (bcrypt $2b$10$)."""
    return {
        "_id": {"$oid": oid},
        "email_verified": True,
        "email": email,
        "passwordHash": bcrypt_hash(password, "2b", rounds=10),
        "password_set_date": {"$date": "2021-03-05T16:40:04.591Z"},
        "tenant": "acme-auth0",
        "connection": "Username-Password-Authentication",
        "_tmp_is_unique": True,
    }


def _lines(records) -> bytes:
    return "\n".join(json.dumps(r) for r in records).encode()


def test_auth0_export_then_hash_export_and_sign_in(app, tenant, tenant_client):
    importer = Importer(app)
    jane, omar = "60425dc43519d90068f82973", "60425dc43519d90068f82974"
    profiles = [
        _auth0_user_export(jane, "jane@example.com"),
        _auth0_user_export(omar, "omar@example.com", blocked=False),
    ]
    _, job = importer.upload("acme-corp", _lines(profiles))
    assert (job["status"], job["created"], job["errors"]) == ("done", 2, [])
    hashes = [
        _auth0_hash_export(jane, "jane@example.com", JANE_PASSWORD),
        _auth0_hash_export(omar, "omar@example.com", OMAR_PASSWORD),
    ]
    _, job = importer.upload("acme-corp", _lines(hashes))
    # The hash export lands on the same users (user_id = "auth0|" + _id.$oid).
    assert (job["status"], job["created"], job["updated"], job["errors"]) == ("done", 0, 2, [])

    with app.app_context():
        user = scope(tenant).first(User, User.email == "jane@example.com")
        assert user.external_id == f"auth0|{jane}"
        assert user.name == "Jane Example" and user.email_verified
        assert user.user_metadata == {"theme": "dark", "app_metadata": {"plan": "enterprise"}}
        assert user.password_hash.startswith("$2b$10$")
        db.session.expunge_all()

    assert sign_in(tenant_client(tenant), "jane@example.com", JANE_PASSWORD).status_code == 302
    assert sign_in(tenant_client(tenant), "omar@example.com", OMAR_PASSWORD).status_code == 302
    assert sign_in(tenant_client(tenant), "omar@example.com", JANE_PASSWORD).status_code == 401
    with app.app_context():
        user = scope(tenant).first(User, User.email == "jane@example.com")
        assert user.password_hash.startswith("$argon2id$")

    # Importing both files again changes nothing (and never reverts the upgraded hash).
    for body in (_lines(profiles), _lines(hashes)):
        _, job = importer.upload("acme-corp", body)
        assert (job["created"], job["updated"], job["error_count"]) == (0, 0, 0)
    assert sign_in(tenant_client(tenant), "jane@example.com", JANE_PASSWORD).status_code == 302


def test_auth0_social_identities_link_to_the_tenants_provider(app, tenant):
    from app.models import LinkedIdentity
    from app.services import providers

    with app.app_context():
        providers.create_provider(
            db.session.merge(tenant),
            {"kind": "google", "client_id": "g-client", "client_secret": "s3cret"},
        )
        db.session.commit()
    record = _auth0_user_export("abc", "sam@example.com")
    record["user_id"] = "google-oauth2|1098"
    record["identities"] = [
        {"provider": "google-oauth2", "user_id": "1098", "connection": "google-oauth2"}
    ]
    unknown = _auth0_user_export("abd", "kim@example.com")
    unknown["identities"] = [{"provider": "linkedin", "user_id": "77", "connection": "linkedin"}]
    _, job = Importer(app).upload("acme-corp", _lines([record, unknown]))
    assert job["created"] == 1
    assert job["errors"] == [
        {"line": 2, "error": "identities[0]: no upstream provider 'linkedin' in this tenant"}
    ]
    with app.app_context():
        linked = db.session.scalars(db.select(LinkedIdentity)).one()
        assert linked.subject == "1098"
