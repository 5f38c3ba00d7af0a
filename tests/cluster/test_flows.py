"""Through the load balancer, N instances behave as one: a browser's sign-in whose
requests land on different instances, refresh tokens rotated and replayed across them."""

from __future__ import annotations

import threading

import pytest

from tests.support.cluster_world import sign_in


def test_sign_in_alternates_between_instances(cluster, world):
    tokens, browser = sign_in(cluster, world)
    # authorize → login page → POST login → authorize → code → token: round robin spread
    # them over every instance, and the flow held (CSRF, session cookie, code, PKCE).
    assert set(browser.served_by) == {i.name for i in cluster.instances}, browser.served_by
    assert any(a != b for a, b in zip(browser.served_by, browser.served_by[1:]))
    userinfo = [
        cluster.get(
            "/oauth2/userinfo",
            world.slug,
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        for _ in cluster.instances
    ]
    assert {r.headers["X-Served-By"] for r in userinfo} == {i.name for i in cluster.instances}
    assert all(r.status_code == 200 and r.json()["sub"] == world.user_id for r in userinfo)


def _refresh(cluster, world, token, instance=None):
    data = {"grant_type": "refresh_token", "refresh_token": token}
    if instance is None:
        return cluster.post("/oauth2/token", world.slug, data=data, auth=world.basic)
    return cluster.request(
        "POST",
        "/oauth2/token",
        world.slug,
        base=cluster.instance_url(instance),
        data=data,
        auth=world.basic,
    )


def _family(ops, world, grant_id):
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Grant
    from app.models import RefreshToken

    with ops.app_context():
        grant = db.session.get(Grant, grant_id)
        tokens = list(
            db.session.scalars(select(RefreshToken).where(RefreshToken.grant_id == grant_id))
        )
        return grant, tokens


def _grant_of(ops, world, refresh_token):
    from app.extensions import db
    from app.models import RefreshToken
    from app.security.tokens import digest

    with ops.app_context():
        return db.session.scalar(
            RefreshToken.__table__.select()
            .with_only_columns(RefreshToken.grant_id)
            .where(RefreshToken.token_digest == digest(refresh_token))
        )


def test_refresh_reuse_is_detected_across_instances(cluster, ops, world):
    tokens, _ = sign_in(cluster, world)
    first, second = cluster.instances[0], cluster.instances[1]
    rotated = _refresh(cluster, world, tokens["refresh_token"], first)
    assert rotated.status_code == 200, rotated.text
    replay = _refresh(cluster, world, tokens["refresh_token"], second)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # The replay at the second instance revoked the family the first one rotated.
    later = _refresh(cluster, world, rotated.json()["refresh_token"], cluster.instances[2])
    assert later.status_code == 400 and later.json()["error"] == "invalid_grant"
    grant, rows = _family(ops, world, _grant_of(ops, world, tokens["refresh_token"]))
    assert grant.revoked_at is not None and len(rows) == 2


@pytest.mark.parametrize("round_", range(4))
def test_same_refresh_token_at_two_instances_at_once_one_wins(cluster, ops, world, round_):
    tokens, _ = sign_in(cluster, world)
    token = tokens["refresh_token"]
    pair = (cluster.instances[round_ % 3], cluster.instances[(round_ + 1) % 3])
    barrier = threading.Barrier(2)
    answers = [None, None]

    def present(n):
        barrier.wait()
        answers[n] = _refresh(cluster, world, token, pair[n])

    threads = [threading.Thread(target=present, args=(n,)) for n in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 400], [a.text for a in answers]
    loser = next(a for a in answers if a.status_code == 400)
    assert loser.json()["error"] == "invalid_grant"
    # The family is consistent: the presented token used once, exactly one successor
    # minted, and the second presentation (a replay, RFC 9700 §4.14.2) revoked the family,
    # so no live refresh token is left and the winner's successor is refused everywhere.
    grant, rows = _family(ops, world, _grant_of(ops, world, token))
    assert len(rows) == 2 and grant.revoked_at is not None
    assert sum(r.used_at is not None for r in rows) == 1
    winner = next(a for a in answers if a.status_code == 200).json()
    for instance in cluster.instances:
        again = _refresh(cluster, world, winner["refresh_token"], instance)
        assert again.status_code == 400
