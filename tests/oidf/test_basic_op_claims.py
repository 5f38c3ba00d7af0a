"""The OpenID Foundation's Basic OP modules about claims and authentication context,
re-implemented black-box through HTTP: the ``claims`` request parameter (OIDC Core §5.5),
``acr_values`` (§3.1.2.1), and ``max_age`` with ``auth_time`` (§3.1.2.1, §2). Each test is
named after the OIDF module it mirrors."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from sqlalchemy import update

from app.extensions import db
from app.models import BrowserSession
from app.models.base import utcnow
from tests.conftest import DEFAULT_PASSWORD
from tests.support.auth import sign_in as password_sign_in
from tests.support.oauth import authorize
from tests.support.oauth import bearer
from tests.support.oauth import claims_of
from tests.support.oauth import exchange
from tests.support.oauth import login_tokens
from tests.support.oauth import pkce_pair
from tests.support.oauth import query_of


def _age_sessions(app, seconds: int) -> None:
    """Every session signed in ``seconds`` ago (instead of sleeping through max_age)."""
    with app.app_context():
        earlier = utcnow() - timedelta(seconds=seconds)
        db.session.execute(update(BrowserSession).values(auth_time=earlier))
        db.session.commit()


def test_oidcc_claims_essential(tc, rp, user):
    # scope openid only; name asked for at userinfo as an essential claim.
    claims = json.dumps({"userinfo": {"name": {"essential": True}}})
    tokens = login_tokens(tc, rp, scope="openid", claims=claims)
    info = tc.get("/oauth2/userinfo", headers=bearer(tokens["access_token"])).get_json()
    assert info["sub"] == user.id and info["name"] == user.name
    assert "email" not in info


def test_oidcc_ensure_request_with_acr_values_succeeds(tc, rp):
    # The suite sends values the provider may not know ("1 2"): voluntary, so a code.
    tokens = login_tokens(tc, rp, acr_values="1 2")
    id_token = claims_of(tokens["id_token"])
    assert isinstance(id_token["acr"], str) and id_token["acr"] == "sfa"


def test_oidcc_max_age_1(app, tc, rp, user):
    first = claims_of(login_tokens(tc, rp)["id_token"])
    _age_sessions(app, 5)
    verifier, challenge = pkce_pair()
    response = authorize(tc, rp, verifier_challenge=challenge, max_age="1")
    # Re-authentication is required: the login page, coming back without max_age.
    location = response.headers["Location"]
    assert response.status_code == 302 and location.startswith("/login?next=")
    target = parse_qs(urlsplit(location).query)["next"][0]
    assert target.startswith("/oauth2/authorize?") and "max_age" not in target
    signed_in = password_sign_in(tc, user.email, DEFAULT_PASSWORD, next=target)
    assert signed_in.headers["Location"] == target
    issued = tc.get(target)
    tokens = exchange(tc, rp, query_of(issued)["code"], verifier).get_json()
    second = claims_of(tokens["id_token"])
    assert second["auth_time"] >= first["auth_time"]  # the new sign-in, not the aged one
    assert abs(second["auth_time"] - time.time()) < 60


def test_oidcc_max_age_10000(app, tc, rp):
    first = claims_of(login_tokens(tc, rp)["id_token"])
    second = claims_of(login_tokens(tc, rp, max_age="10000")["id_token"])
    assert second["auth_time"] == first["auth_time"]  # no re-authentication
