"""POST /login reads the user and their factors as row values and attaches the user to
the request's session as loaded (``TenantScope.attach_loaded``): what the sign-in
changes on it (failure counters, lockout, a rehash, ``last_login_at``) is still written."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from app.extensions import db
from app.models import MfaFactor
from app.models import User
from app.models.base import utcnow
from app.services import authn
from app.tenancy import scope
from tests.conftest import DEFAULT_PASSWORD
from tests.support.auth import load
from tests.support.auth import sign_in


def test_attach_loaded_gives_a_clean_row_whose_changes_are_flushed(app, tenant, user):
    with app.test_request_context():
        values = {
            attr.key: getattr(db.session.get(User, user.id), attr.key)
            for attr in User.__mapper__.column_attrs
        }
        db.session.expunge_all()
        attached = scope(tenant).attach_loaded(User, values)
        assert attached in db.session and not db.session.dirty and not db.session.new
        assert scope(tenant).attach_loaded(User, values) is attached  # the session's own
        attached.failed_logins = 3
        db.session.commit()
    assert load(app, User, user.id).failed_logins == 3


def test_attach_loaded_refuses_another_tenants_row(app, tenant, other_tenant, user):
    with app.test_request_context():
        values = {
            attr.key: getattr(db.session.get(User, user.id), attr.key)
            for attr in User.__mapper__.column_attrs
        }
        with pytest.raises(ValueError):
            scope(other_tenant).attach_loaded(User, values)


def test_a_failure_is_counted_then_reset_by_a_success(app, tenant, user, tenant_client):
    client = tenant_client(tenant)
    assert sign_in(client, "ada@example.com", "wrong password").status_code == 401
    assert load(app, User, user.id).failed_logins == 1
    assert sign_in(client, "ADA@example.com ", DEFAULT_PASSWORD).status_code == 302
    row = load(app, User, user.id)
    assert row.failed_logins == 0 and row.last_login_at is not None


def test_an_old_hash_is_upgraded_at_sign_in(app, tenant, user, tenant_client):
    config = app.config
    weak = PasswordHasher(  # other parameters than the configured ones
        time_cost=config["ARGON2_TIME_COST"] + 1,
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=config["ARGON2_PARALLELISM"],
    ).hash(DEFAULT_PASSWORD)
    with app.app_context():
        db.session.get(User, user.id).password_hash = weak
        db.session.commit()
    assert sign_in(tenant_client(tenant), "ada@example.com", DEFAULT_PASSWORD).status_code == 302
    assert load(app, User, user.id).password_hash != weak


def test_a_signed_in_person_signing_in_again_keeps_one_user_row(app, tenant, user, tenant_client):
    """The session's user is loaded before the form's read: the same instance is used."""
    client = tenant_client(tenant)
    assert sign_in(client, "ada@example.com", DEFAULT_PASSWORD).status_code == 302
    again = sign_in(client, "ada@example.com", DEFAULT_PASSWORD, form_path="/login?prompt=login")
    assert again.status_code == 302
    assert client.get("/account").status_code == 200


@pytest.mark.parametrize(
    "kind, allowed, expected",
    [
        ("totp", ["totp", "webauthn"], True),
        ("webauthn", ["totp", "webauthn"], True),
        ("totp", ["webauthn"], False),  # a factor of a kind the tenant does not allow
        (None, ["totp", "webauthn"], False),
    ],
)
def test_the_factor_read_with_the_user_is_user_factors(
    app, make_tenant, make_user, kind, allowed, expected
):
    from app.services import mfa

    tenant = make_tenant("mfa-reads", mfa_policy="optional", mfa_factors=allowed)
    person = make_user(tenant)
    with app.app_context():
        if kind is not None:
            scope(tenant).add(
                MfaFactor(user_id=person.id, kind=kind, name="k", confirmed_at=utcnow())
            )
            scope(tenant).add(MfaFactor(user_id=person.id, kind="totp", name="unconfirmed"))
            db.session.commit()
    with app.test_request_context():
        found, has_factor = authn._find_for_sign_in(tenant, "ada@example.com")
        assert found.id == person.id and has_factor is expected
        assert has_factor == bool(mfa.user_factors(tenant, found))
        unconfirmed = db.session.scalars(select(MfaFactor).where(MfaFactor.name == "unconfirmed"))
        assert all(f.confirmed_at is None for f in unconfirmed)
        assert authn._find_for_sign_in(tenant, "nobody@example.com") == (None, False)
        assert authn._find_for_sign_in(tenant, "not an address") == (None, False)
