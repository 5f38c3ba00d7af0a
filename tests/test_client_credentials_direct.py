"""client_credentials answered without Authlib's machinery (app/oauth/direct.py) gives the
same answer as through Authlib, and every request outside the plain success case still
gets Authlib's answer (errors, WWW-Authenticate, the failure count)."""

from __future__ import annotations

import base64

import jwt
import pytest
from werkzeug.datastructures import MultiDict

from tests.support.oauth import basic_auth
from tests.support.oauth import make_client

# Headers that legitimately differ between two answers.
_VARYING = {"X-Request-Id", "Content-Length", "Date"}


@pytest.fixture
def service(app, tenant):
    return make_client(
        app,
        tenant,
        client_name="Backend",
        grant_types=["client_credentials"],
        redirect_uris=[],
        scope="openid profile email offline_access",
    )


def _token(tc, service, path="/oauth2/token", headers=None, **form):
    return tc.post(
        path,
        data={"grant_type": "client_credentials", **form},
        headers=headers or basic_auth(service.client_id, service.secret),
    )


def _comparable(response):
    claims = jwt.decode(response.get_json()["access_token"], options={"verify_signature": False})
    header = jwt.get_unverified_header(response.get_json()["access_token"])
    body = {k: v for k, v in response.get_json().items() if k != "access_token"}
    headers = sorted((k, v) for k, v in response.headers.items() if k not in _VARYING)
    fixed = {k: v for k, v in claims.items() if k not in {"iat", "exp", "jti"}}
    return response.status_code, headers, body, header, fixed, claims["exp"] - claims["iat"]


@pytest.mark.parametrize("scope", [None, "profile", "email openid unknown email"])
def test_the_direct_answer_is_authlibs_answer(tenant, tenant_client, service, scope):
    tc = tenant_client(tenant)
    form = {"scope": scope} if scope is not None else {}
    direct = _token(tc, service, **form)
    # A query parameter (Authlib reads those too) sends the same grant through Authlib.
    through_authlib = _token(tc, service, path="/oauth2/token?via=authlib", **form)
    assert direct.status_code == 200, direct.get_json()
    assert _comparable(direct) == _comparable(through_authlib)
    assert "openid" not in direct.get_json()["scope"].split()


def test_percent_encoded_basic_credentials_are_decoded(tenant, tenant_client, service):
    tc = tenant_client(tenant)
    raw = f"{service.client_id}:{service.secret}".replace("_", "%5F").encode()
    headers = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    assert _token(tc, service, headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("case", "status", "error"),
    [
        ("wrong secret", 401, "invalid_client"),
        ("unknown client", 401, "invalid_client"),
        ("no credentials", 401, "invalid_client"),
        ("not base64", 401, "invalid_client"),
        ("grant not allowed", 400, "unauthorized_client"),
    ],
)
def test_failures_get_authlibs_answers(app, tenant, tenant_client, service, case, status, error):
    tc = tenant_client(tenant)
    headers = {
        "wrong secret": basic_auth(service.client_id, "x" * 40),
        "unknown client": basic_auth("cli_unknown", "x" * 40),
        "no credentials": {},
        "not base64": {"Authorization": "Basic ***"},
    }.get(case)
    if case == "grant not allowed":
        rp = make_client(app, tenant)  # authorization_code + refresh_token only
        headers = basic_auth(rp.client_id, rp.secret)
    response = tc.post("/oauth2/token", data={"grant_type": "client_credentials"}, headers=headers)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"] == error
    assert response.headers["Cache-Control"] == "no-store"
    if status == 401 and "Authorization" in headers:
        assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_a_repeated_parameter_is_authlibs_to_judge(tenant, tenant_client, service):
    tc = tenant_client(tenant)
    response = tc.post(
        "/oauth2/token",
        data=MultiDict(
            [("grant_type", "client_credentials"), ("scope", "profile"), ("scope", "email")]
        ),
        headers=basic_auth(service.client_id, service.secret),
    )
    # Whatever Authlib answers, it is not a 500 and not a token with both values merged.
    assert response.status_code in {200, 400}
    if response.status_code == 200:
        assert response.get_json()["scope"] in {"", "profile", "email"}


@pytest.mark.parametrize(
    "body",
    [
        b"grant_type=client_credentials&scope=%FF%FE",  # percent-encoded bytes, not UTF-8
        "grant_type=client_credentials&scope=pr\u00f6file".encode(),  # raw non-ASCII bytes
        b"grant_type=client_credentials&" + b"&".join(b"x%d=1" % i for i in range(40)),
        b"grant_type=client_credentials&scope",  # a name without a value
        b"grant_type=client_credentials;scope=profile",
        b"grant_type=%63lient_credentials",  # percent-encoded, as a form may be
    ],
)
def test_an_unusual_body_gets_the_answer_authlib_gives(tenant, tenant_client, service, body):
    """The direct path reads the body itself (urllib.parse, app/oauth/direct.plain_form):
    a body it does not take as plain goes to Authlib, which answers exactly as when the
    request comes with a query parameter (never a 500)."""
    tc = tenant_client(tenant)
    headers = {
        **basic_auth(service.client_id, service.secret),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    direct = tc.post("/oauth2/token", data=body, headers=headers)
    through_authlib = tc.post("/oauth2/token?via=authlib", data=body, headers=headers)
    assert direct.status_code == through_authlib.status_code != 500, direct.get_data()
    if direct.status_code == 200:
        assert _comparable(direct) == _comparable(through_authlib)
    else:
        assert direct.get_json() == through_authlib.get_json()


@pytest.mark.parametrize("declared", [60, 20_000])
def test_a_body_shorter_than_its_length_is_a_400_never_a_grant(
    tenant, tenant_client, service, declared
):
    """The direct path reads a small body straight from ``wsgi.input``: one that ends
    before its Content-Length (a client that went away) is refused as Werkzeug refuses
    it, never parsed as the part that arrived. A large declared length is Werkzeug's to
    read from the start."""
    tc = tenant_client(tenant)
    body = b"grant_type=client_credentials&scope=profile"
    response = tc.post(
        "/oauth2/token",
        data=body,
        headers={
            **basic_auth(service.client_id, service.secret),
            "Content-Type": "application/x-www-form-urlencoded",
        },
        environ_overrides={"CONTENT_LENGTH": str(declared)},
    )
    assert response.status_code == 400, response.get_data()
    assert response.get_json()["error"] == "invalid_request"
    assert "access_token" not in response.get_json()


def test_a_direct_answer_returned_by_a_flask_view_is_the_same_response(app):
    """The protocol views behind the lean path (app/oauth/routes.py) may return the
    direct paths' JsonAnswer: Flask turns it into the response the lean path sends."""
    from app.oauth.answers import JsonAnswer

    with app.test_request_context("/oauth2/token", method="POST"):
        response = app.make_response(JsonAnswer.of({"access_token": "t", "expires_in": 60}))
    assert response.status_code == 200
    assert response.get_json() == {"access_token": "t", "expires_in": 60}
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert response.headers["Content-Length"] == str(len(response.get_data()))
