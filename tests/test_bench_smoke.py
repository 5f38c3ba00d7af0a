"""The benchmark's own moving parts, small: the bulk seeder writes rows the app accepts,
and the sign-in client completes real authorization-code flows against a live server.
(The benchmark itself is ``make bench``; this only keeps its code from rotting.)"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime

import jwt

from app.security.passwords import hash_password
from bench import signin
from bench.seed import Manifest
from bench.seed import seed


def _seed(app, database_url, tenants=3, users=10) -> Manifest:
    with app.app_context():
        password_hash = hash_password(Manifest.password)  # the tests' cheap parameters
    return seed(database_url, tenants, users, password_hash=password_hash, slug_prefix="smoke")


def test_seeded_client_gets_a_client_credentials_token(app, database_url):
    manifest = _seed(app, database_url)
    assert [t["slug"] for t in manifest.tenants] == ["smoke-00000", "smoke-00001", "smoke-00002"]
    seeded = manifest.tenants[2]
    target = signin.targets(manifest, "gatehouse.test")[2]

    response = app.test_client().post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Host": target.host, "Authorization": target.authorization},
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    claims = jwt.decode(response.get_json()["access_token"], options={"verify_signature": False})
    assert claims["tenant_id"] == seeded["id"]
    assert claims["client_id"] == seeded["client_id"]
    assert claims["iss"] == "http://smoke-00002.gatehouse.test"


def test_seeded_past_sign_ins_are_finished(app, database_url):
    """Each seeded user has HISTORY past sign-ins: rows the app keeps, none of them live."""
    from sqlalchemy import func
    from sqlalchemy import select

    from app.extensions import db
    from app.models import AuthorizationCode
    from app.models import BrowserSession
    from app.models import Grant
    from app.models import RefreshToken
    from bench.seed import HISTORY
    from bench.seed import HISTORY_ROTATIONS

    _seed(app, database_url, tenants=2, users=3)
    sign_ins = 2 * 3 * HISTORY
    with app.app_context():
        count = lambda model, *where: db.session.scalar(  # noqa: E731
            select(func.count()).select_from(model).where(*where)
        )
        assert count(BrowserSession) == count(AuthorizationCode) == count(Grant) == sign_ins
        assert count(RefreshToken) == sign_ins * HISTORY_ROTATIONS
        assert count(RefreshToken, RefreshToken.used_at.is_(None)) == 0
        now = datetime.now(UTC)
        assert count(BrowserSession, BrowserSession.expires_at > now) == 0
        assert count(Grant, Grant.expires_at > now) == 0
        assert count(AuthorizationCode, AuthorizationCode.expires_at > now) == 0


def test_sign_in_client_runs_full_flows_for_seeded_users(app, database_url, live_server):
    manifest = _seed(app, database_url, tenants=2, users=4)
    targets = signin.targets(manifest, live_server.base_domain)

    stats, tokens = signin.run_flows(live_server.port, manifest, targets, count=3, threads=1)

    assert (stats.flows, stats.errors) == (3, 0), stats.first_error
    assert {t.host for t in tokens} == {targets[0].host, targets[1].host}
    assert all(t.refresh_token and t.refresh_token.startswith("rt_") for t in tokens)
    claims = jwt.decode(tokens[0].access_token, options={"verify_signature": False})
    assert claims["sub"].startswith("usr_")
    assert claims["roles"] == ["member"]


def test_noisy_neighbour_streams_see_the_quota(app, database_url, live_server):
    """bench/noisy.py's paced client against a live server: the flooding tenant gets 429s
    past its quota's burst, its neighbour only 200s."""
    from bench import noisy

    manifest = _seed(app, database_url, tenants=2, users=1)
    noisy.set_quota(database_url, manifest.tenants[0]["slug"], 0.1)  # burst 1, then 1 per 10 s
    flooder, neighbour = signin.targets(manifest, live_server.base_domain)

    flood = noisy.paced(live_server.port, flooder, rate=20, seconds=1, threads=2)
    steady = noisy.paced(live_server.port, neighbour, rate=10, seconds=1, threads=1)

    assert flood.statuses.get(200) == 1 and flood.statuses.get(429, 0) == flood.sent - 1
    assert steady.statuses == {200: steady.sent} and steady.sent == 10
    assert steady.ok_rate() == 10 and steady.p(99) > 0
