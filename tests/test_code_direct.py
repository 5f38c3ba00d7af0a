"""The authorization_code exchange answered without Authlib's machinery
(app/oauth/direct.py) gives Authlib's answer, and every failure still gets Authlib's
answer and side effects (a reused code revokes what it produced)."""

from __future__ import annotations

import pytest

from tests.support.database import use_up_elsewhere
from tests.support.oauth import claims_of
from tests.support.oauth import exchange
from tests.support.oauth import get_code
from tests.support.oauth import make_client
from tests.support.oauth import refresh
from tests.support.oauth import sign_in
from tests.test_refresh_direct import _comparable as _refresh_comparable


def _comparable(response):
    """As for refresh, without the nonce (each authorization request sends its own)."""
    status, headers, shape, keys, tokens = _refresh_comparable(response)
    tokens = {
        name: (header, {k: v for k, v in claims.items() if k != "nonce"}, ttl)
        for name, (header, claims, ttl) in tokens.items()
    }
    return status, headers, shape, keys, tokens


def _exchange(tc, client, code, verifier, *, via_authlib=False, **extra):
    if via_authlib:  # a query parameter keeps the request off the direct path
        original = tc.post

        def post(path, **kwargs):
            return original(path + "?via=authlib", **kwargs)

        tc.post = post
        try:
            return exchange(tc, client, code, verifier, **extra)
        finally:
            tc.post = original
    return exchange(tc, client, code, verifier, **extra)


@pytest.fixture
def signed_in(app, tenant, user, tenant_client):
    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, user)
    return tc


@pytest.mark.parametrize("public", [False, True])
@pytest.mark.parametrize("with_org", [False, True])
def test_the_direct_exchange_is_authlibs_exchange(app, tenant, user, signed_in, public, with_org):
    params = {}
    if with_org:
        from app.extensions import db
        from app.services import orgs
        from app.services.roles import ensure_builtin_roles

        with app.app_context():
            ensure_builtin_roles(tenant)
            org = orgs.create_org(tenant, "Engineering")
            orgs.add_member(tenant, org, user, roles=["admin"])
            db.session.commit()
            params["organization"] = org.id
    extra = {"token_endpoint_auth_method": "none"} if public else {}
    rp = make_client(app, tenant, **extra)
    answers = []
    for via_authlib in (False, True):
        code, verifier, _q = get_code(signed_in, rp, **params)
        answers.append(_exchange(signed_in, rp, code, verifier, via_authlib=via_authlib))
    direct, through_authlib = answers
    assert direct.status_code == 200, direct.get_json()
    assert _comparable(direct) == _comparable(through_authlib)
    body = direct.get_json()
    id_token = claims_of(body["id_token"])
    assert id_token["nonce"] and id_token["sid"] and "auth_time" in id_token
    if with_org:
        assert claims_of(body["access_token"])["org_id"] == params["organization"]
        assert "admin" in claims_of(body["access_token"])["roles"]
    assert refresh(signed_in, rp, body["refresh_token"]).status_code == 200


def _same_failure(tc, rp, spoil):
    """``spoil(code, verifier)`` → the exchange's kwargs; both paths answer alike."""
    answers = []
    for via_authlib in (False, True):
        code, verifier, _q = get_code(tc, rp)
        kwargs = spoil(code, verifier)
        answers.append(_exchange(tc, **kwargs, via_authlib=via_authlib))
    direct, through_authlib = answers
    assert direct.status_code == through_authlib.status_code == 400, direct.get_json()
    assert direct.get_json() == through_authlib.get_json()
    return direct


def test_a_wrong_verifier_gets_authlibs_answer_and_uses_the_code(app, tenant, signed_in):
    rp = make_client(app, tenant)
    answer = _same_failure(
        signed_in, rp, lambda c, v: {"client": rp, "code": c, "verifier": "x" * 43}
    )
    assert answer.get_json()["error"] == "invalid_grant"


def test_a_wrong_redirect_uri_gets_authlibs_answer(app, tenant, signed_in):
    rp = make_client(app, tenant)
    _same_failure(
        signed_in,
        rp,
        lambda c, v: {
            "client": rp,
            "code": c,
            "verifier": v,
            "redirect_uri": "https://elsewhere.example/cb",
        },
    )


def test_another_clients_code_gets_authlibs_answer(app, tenant, signed_in):
    rp = make_client(app, tenant)
    other = make_client(app, tenant, client_name="Other")
    _same_failure(signed_in, rp, lambda c, v: {"client": other, "code": c, "verifier": v})


def test_an_expired_code_gets_authlibs_answer(app, tenant, signed_in):
    from app.extensions import db
    from app.models import AuthorizationCode
    from app.models.base import utcnow

    rp = make_client(app, tenant)

    def expire(code, verifier):
        with app.app_context():
            for row in db.session.query(AuthorizationCode).filter_by(used_at=None):
                row.expires_at = utcnow()
            db.session.commit()
        return {"client": rp, "code": code, "verifier": verifier}

    _same_failure(signed_in, rp, expire)


def test_a_reused_code_revokes_what_the_direct_exchange_issued(app, tenant, signed_in):
    rp = make_client(app, tenant)
    code, verifier, _q = get_code(signed_in, rp)
    first = _exchange(signed_in, rp, code, verifier)
    assert first.status_code == 200
    again = _exchange(signed_in, rp, code, verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    dead = refresh(signed_in, rp, first.get_json()["refresh_token"])
    assert dead.status_code == 400 and dead.get_json()["error"] == "invalid_grant"


def test_a_code_used_between_the_read_and_the_claim_writes_nothing(
    app, tenant, signed_in, monkeypatch
):
    """The race the single-use claim is for: the code is used by another request after
    this one read it. The claim takes nothing, so neither a grant nor a refresh token is
    written from this request (on PostgreSQL the claim and the INSERTs are one
    statement), and Authlib answers invalid_grant."""
    from sqlalchemy import func
    from sqlalchemy import select

    from app import rls
    from app.extensions import db
    from app.models import AuthorizationCode
    from app.models import Grant
    from app.models import RefreshToken
    from app.services import grants as grants_service

    rp = make_client(app, tenant)
    code, verifier, _q = get_code(signed_in, rp)
    read = grants_service.find_presented_code

    def read_then_lose_the_race(snapshot, presented_code):
        presented = read(snapshot, presented_code)
        monkeypatch.setattr(grants_service, "find_presented_code", read)  # once
        use_up_elsewhere(app, AuthorizationCode, presented.row.id)
        return presented

    def counts():
        with app.app_context():
            rls.bypass("test: counting")
            return [
                db.session.scalar(select(func.count()).select_from(model))
                for model in (Grant, RefreshToken)
            ]

    before = counts()
    monkeypatch.setattr(grants_service, "find_presented_code", read_then_lose_the_race)
    lost = _exchange(signed_in, rp, code, verifier)
    assert lost.status_code == 400 and lost.get_json()["error"] == "invalid_grant"
    assert counts() == before


def test_another_tenants_code_is_unknown(app, tenant, other_tenant, user, signed_in, tenant_client):
    rp = make_client(app, tenant)
    code, verifier, _q = get_code(signed_in, rp)
    foreign = make_client(app, other_tenant)
    refused = _exchange(tenant_client(other_tenant), foreign, code, verifier)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    assert _exchange(signed_in, rp, code, verifier).status_code == 200  # untouched at home
