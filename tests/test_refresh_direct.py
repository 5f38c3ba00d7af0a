"""refresh_token and introspection answered without Authlib's machinery (app/oauth/direct.py)
give the same answers as through Authlib, and every request outside the plain success case
still gets Authlib's answer: reuse detection, another client's token, an inactive user, an
organization switch, a refresh token to introspect."""

from __future__ import annotations

import pytest

from tests.support.database import use_up_elsewhere
from tests.support.oauth import basic_auth
from tests.support.oauth import claims_of
from tests.support.oauth import header_of
from tests.support.oauth import login_tokens
from tests.support.oauth import make_client
from tests.support.oauth import sign_in

# Headers that legitimately differ between two answers.
_VARYING = {"X-Request-Id", "Content-Length", "Date"}
# Claims that differ between two tokens minted a moment apart.
_MINTED = {"iat", "exp", "jti", "at_hash", "auth_time"}


def _post(tc, path, client, data, *, via_authlib=False):
    """POST with the client's credentials; ``via_authlib``: a query parameter (Authlib
    reads those too) keeps the request off the direct path."""
    headers = basic_auth(client.client_id, client.secret) if client.secret else {}
    if not client.secret:
        data = {**data, "client_id": client.client_id}
    return tc.post(path + ("?via=authlib" if via_authlib else ""), data=data, headers=headers)


def _refresh(tc, client, token, *, via_authlib=False, **extra):
    data = {"grant_type": "refresh_token", "refresh_token": token, **extra}
    return _post(tc, "/oauth2/token", client, data, via_authlib=via_authlib)


def _comparable(response):
    body = response.get_json()
    headers = sorted((k, v) for k, v in response.headers.items() if k not in _VARYING)
    shape = {
        k: v for k, v in body.items() if k not in {"access_token", "refresh_token", "id_token"}
    }
    tokens = {}
    for name in ("access_token", "id_token"):
        if name in body:
            claims = claims_of(body[name])
            tokens[name] = (
                header_of(body[name]),
                {k: v for k, v in claims.items() if k not in _MINTED},
                claims["exp"] - claims["iat"],
            )
    return response.status_code, headers, shape, sorted(body), tokens


@pytest.fixture
def signed_in(app, tenant, user, tenant_client):
    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, user)
    return tc


@pytest.mark.parametrize("public", [False, True])
def test_the_direct_refresh_is_authlibs_refresh(app, tenant, signed_in, public):
    extra = {"token_endpoint_auth_method": "none"} if public else {}
    rp = make_client(app, tenant, **extra)
    direct_chain = login_tokens(signed_in, rp)["refresh_token"]
    authlib_chain = login_tokens(signed_in, rp)["refresh_token"]

    direct = _refresh(signed_in, rp, direct_chain)
    through_authlib = _refresh(signed_in, rp, authlib_chain, via_authlib=True)
    assert direct.status_code == 200, direct.get_json()
    assert _comparable(direct) == _comparable(through_authlib)
    body = direct.get_json()
    assert body["refresh_token"] != direct_chain and "id_token" in body
    # and the rotated token goes on working on either path
    assert _refresh(signed_in, rp, body["refresh_token"], via_authlib=True).status_code == 200


def test_reuse_after_a_direct_refresh_revokes_the_family(app, tenant, signed_in):
    rp = make_client(app, tenant)
    first = login_tokens(signed_in, rp)["refresh_token"]
    second = _refresh(signed_in, rp, first).get_json()["refresh_token"]

    reused = _refresh(signed_in, rp, first)
    assert reused.status_code == 400 and reused.get_json()["error"] == "invalid_grant"
    # the whole family: the token minted from it is dead too, and so is its access token
    dead = _refresh(signed_in, rp, second)
    assert dead.status_code == 400 and dead.get_json()["error"] == "invalid_grant"


def test_a_token_used_between_the_read_and_the_claim_revokes_its_family(
    app, tenant, signed_in, monkeypatch
):
    """The race the atomic claim is for: another request uses the token after this one
    read it. The claim (with its successor's INSERT) takes nothing, so no successor is
    written, and the family is revoked as on any reuse (RFC 9700 §4.14.2)."""
    from sqlalchemy import func
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Grant
    from app.models import RefreshToken
    from app.services import grants as grants_service

    rp = make_client(app, tenant)
    token = login_tokens(signed_in, rp)["refresh_token"]
    read = grants_service.find_presented_refresh

    def read_then_lose_the_race(snapshot, presented_token, **kwargs):
        presented = read(snapshot, presented_token, **kwargs)
        if not kwargs.get("outside_session"):  # Authlib's read, after the direct path
            return presented
        use_up_elsewhere(app, RefreshToken, presented.row.id)
        return presented

    monkeypatch.setattr(grants_service, "find_presented_refresh", read_then_lose_the_race)
    lost = _refresh(signed_in, rp, token)
    monkeypatch.undo()
    assert lost.status_code == 400 and lost.get_json()["error"] == "invalid_grant"
    with app.app_context():
        from app import rls

        rls.bypass("test: the family after a lost race")
        assert db.session.scalar(select(func.count()).select_from(RefreshToken)) == 1
        assert db.session.scalar(select(Grant.revoked_at)) is not None


def test_another_clients_token_is_refused_and_not_used_up(app, tenant, signed_in):
    rp = make_client(app, tenant)
    other = make_client(app, tenant, client_name="Other")
    token = login_tokens(signed_in, rp)["refresh_token"]

    refused = _refresh(signed_in, other, token)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    assert _refresh(signed_in, rp, token).status_code == 200


def test_wrong_client_secret_gets_authlibs_401(app, tenant, signed_in):
    rp = make_client(app, tenant)
    token = login_tokens(signed_in, rp)["refresh_token"]
    response = signed_in.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        headers=basic_auth(rp.client_id, "x" * 40),
    )
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert _refresh(signed_in, rp, token).status_code == 200  # not used up


def test_a_disabled_user_gets_no_tokens(app, tenant, user, signed_in):
    from app.extensions import db
    from app.models import User
    from app.tenancy import scope

    rp = make_client(app, tenant)
    token = login_tokens(signed_in, rp)["refresh_token"]
    with app.app_context():
        scope(tenant).get(User, user.id).status = "disabled"
        db.session.commit()
    response = _refresh(signed_in, rp, token)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"


def test_an_organization_switch_is_kept_by_the_next_plain_refresh(app, tenant, user, signed_in):
    from app.extensions import db
    from app.services import orgs
    from app.services.roles import ensure_builtin_roles

    with app.app_context():
        ensure_builtin_roles(tenant)
        eng = orgs.create_org(tenant, "Engineering")
        ops = orgs.create_org(tenant, "Operations")
        orgs.add_member(tenant, eng, user, roles=["admin"])
        orgs.add_member(tenant, ops, user, roles=["member"])
        db.session.commit()
        eng_id, ops_id = eng.id, ops.id
    rp = make_client(app, tenant)
    tokens = login_tokens(signed_in, rp, organization=eng_id)
    assert claims_of(tokens["access_token"])["org_id"] == eng_id

    switched = _refresh(signed_in, rp, tokens["refresh_token"], organization=ops_id)
    assert switched.status_code == 200, switched.get_json()
    assert claims_of(switched.get_json()["access_token"])["org_id"] == ops_id

    # the grant itself moved: a plain refresh (the direct path) stays in the new org
    plain = _refresh(signed_in, rp, switched.get_json()["refresh_token"])
    assert plain.status_code == 200
    access, id_token = (claims_of(plain.get_json()[k]) for k in ("access_token", "id_token"))
    assert access["org_id"] == id_token["org_id"] == ops_id
    assert "admin" not in access["roles"]


def test_a_refresh_token_of_another_tenant_is_unknown(
    app, tenant, other_tenant, user, signed_in, tenant_client
):
    rp = make_client(app, tenant)
    token = login_tokens(signed_in, rp)["refresh_token"]
    foreign = make_client(app, other_tenant)
    response = _refresh(tenant_client(other_tenant), foreign, token)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
    assert _refresh(signed_in, rp, token).status_code == 200  # untouched at home


def _introspect(tc, client, token, *, via_authlib=False, **extra):
    return _post(
        tc, "/oauth2/introspect", client, {"token": token, **extra}, via_authlib=via_authlib
    )


def test_the_direct_introspection_is_authlibs_introspection(app, tenant, signed_in):
    rp = make_client(app, tenant)
    tokens = login_tokens(signed_in, rp)
    direct = _introspect(signed_in, rp, tokens["access_token"])
    through_authlib = _introspect(signed_in, rp, tokens["access_token"], via_authlib=True)
    assert direct.status_code == 200 and direct.get_json()["active"] is True
    assert direct.get_json() == through_authlib.get_json()
    headers = [
        sorted((k, v) for k, v in r.headers.items() if k not in _VARYING)
        for r in (direct, through_authlib)
    ]
    assert headers[0] == headers[1]
    hinted = _introspect(signed_in, rp, tokens["access_token"], token_type_hint="access_token")
    assert hinted.get_json() == direct.get_json()


def test_introspection_outside_the_common_case_is_authlibs(app, tenant, signed_in):
    rp = make_client(app, tenant)
    tokens = login_tokens(signed_in, rp)
    refresh_info = _introspect(signed_in, rp, tokens["refresh_token"]).get_json()
    assert refresh_info["active"] is True and refresh_info["token_type"] == "refresh_token"
    assert _introspect(signed_in, rp, "not-a-token").get_json() == {"active": False}
    bad_hint = _introspect(signed_in, rp, tokens["access_token"], token_type_hint="id_token")
    assert bad_hint.get_json() == {"error": "unsupported_token_type"}  # Authlib's answer
    # revoked: the direct path declines, Authlib answers inactive
    signed_in.post(
        "/oauth2/revoke",
        data={"token": tokens["access_token"]},
        headers=basic_auth(rp.client_id, rp.secret),
    )
    assert _introspect(signed_in, rp, tokens["access_token"]).get_json() == {"active": False}
    wrong = signed_in.post(
        "/oauth2/introspect",
        data={"token": tokens["access_token"]},
        headers=basic_auth(rp.client_id, "x" * 40),
    )
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_client"
