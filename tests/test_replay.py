"""Single-use identifiers (app/security/replay.py): once per tenant, issuer and lifetime,
shared by every instance through Redis, per process without it."""

from __future__ import annotations

import pytest

from tests.support.quotas import drop_keys
from tests.support.quotas import redis_or_skip
from tests.support.quotas import shared_redis_config


def _first(app, *args):
    from app.security.replay import first_use

    with app.app_context():
        return first_use(*args)


def test_an_identifier_is_accepted_once_per_tenant_and_issuer(app):
    assert _first(app, "dpop", "ten_a", "jkt1", "jti-1", 60) is True
    assert _first(app, "dpop", "ten_a", "jkt1", "jti-1", 60) is False  # replayed
    assert _first(app, "dpop", "ten_b", "jkt1", "jti-1", 60) is True  # another tenant
    assert _first(app, "dpop", "ten_a", "jkt2", "jti-1", 60) is True  # another key
    assert _first(app, "client_assertion", "ten_a", "jkt1", "jti-1", 60) is True
    assert _first(app, "dpop", "ten_a", "jkt1", "", 60) is False  # none: never accepted
    assert _first(app, "dpop", "ten_a", "jkt1", None, 60) is False


def test_two_instances_share_the_record_through_redis(make_app, app):
    redis_or_skip()
    config = shared_redis_config()
    first, second = make_app(**config), make_app(**config)
    try:
        assert _first(first, "client_assertion", "ten_a", "svc", "abc", 30) is True
        assert _first(second, "client_assertion", "ten_a", "svc", "abc", 30) is False
    finally:
        drop_keys(config["QUOTA_KEY_PREFIX"])


@pytest.mark.parametrize("lifetime", [0, -5, 10**9])
def test_a_lifetime_out_of_range_is_bounded(app, lifetime):
    assert _first(app, "dpop", "ten_a", "k", f"jti-{lifetime}", lifetime) is True
    assert _first(app, "dpop", "ten_a", "k", f"jti-{lifetime}", lifetime) is False
