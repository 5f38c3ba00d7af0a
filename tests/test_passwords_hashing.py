"""argon2id at the OWASP minimum, and rehash on sign-in when parameters change.

These tests use production hashing parameters on purpose (the rest of the suite is cheap).
"""

from argon2 import extract_parameters

from app.config import load_config
from app.extensions import db
from app.models import User
from tests.conftest import DEFAULT_PASSWORD
from tests.support.auth import sign_in
from tests.support.http import TenantClient

PRODUCTION_ARGON2 = {"ARGON2_TIME_COST": 2, "ARGON2_MEMORY_COST": 19456, "ARGON2_PARALLELISM": 1}


def test_production_defaults_are_the_owasp_minimum(tmp_path):
    config = load_config(str(tmp_path), env={})
    assert {k: config[k] for k in PRODUCTION_ARGON2} == PRODUCTION_ARGON2


def test_hashes_are_argon2id_with_configured_parameters(make_app):
    from app.security.passwords import hash_password
    from app.security.passwords import verify_password

    app = make_app(**PRODUCTION_ARGON2)
    with app.app_context():
        stored = hash_password(DEFAULT_PASSWORD)
        params = extract_parameters(stored)
        assert stored.startswith("$argon2id$")
        assert (params.memory_cost, params.time_cost, params.parallelism) == (19456, 2, 1)
        assert verify_password(stored, DEFAULT_PASSWORD)


def test_long_passwords_are_never_truncated(app):
    from app.security.passwords import hash_password
    from app.security.passwords import verify_password

    base = "a long passphrase " * 6  # 108 characters: past bcrypt's 72-byte cut-off
    with app.app_context():
        stored = hash_password(base + "one")
        assert verify_password(stored, base + "one")
        assert not verify_password(stored, base + "two")


def test_sign_in_rehashes_when_parameters_change(make_app, tenant, user):
    """A hash made with old (cheap) parameters is upgraded at the next sign-in."""
    with make_app().app_context():
        old = db.session.get(User, user.id).password_hash
    assert extract_parameters(old).memory_cost == 8

    production = make_app(**PRODUCTION_ARGON2)
    client = TenantClient(production.test_client(), "acme-corp.gatehouse.test")
    assert sign_in(client, "ada@example.com", DEFAULT_PASSWORD).status_code == 302
    with production.app_context():
        new = db.session.get(User, user.id).password_hash
    assert new != old
    params = extract_parameters(new)
    assert (params.memory_cost, params.time_cost, params.parallelism) == (19456, 2, 1)

    # Unchanged parameters: no rehash on the next sign-in.
    client = TenantClient(production.test_client(), "acme-corp.gatehouse.test")
    assert sign_in(client, "ada@example.com", DEFAULT_PASSWORD).status_code == 302
    with production.app_context():
        assert db.session.get(User, user.id).password_hash == new


def test_a_wrong_password_does_not_rehash(make_app, tenant, user):
    with make_app().app_context():
        old = db.session.get(User, user.id).password_hash
    production = make_app(**PRODUCTION_ARGON2)
    client = TenantClient(production.test_client(), "acme-corp.gatehouse.test")
    assert sign_in(client, "ada@example.com", "wrong password 123").status_code == 401
    with production.app_context():
        assert db.session.get(User, user.id).password_hash == old
