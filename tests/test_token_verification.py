"""Access-token verification (app/services/tokens.py, parsed once without PyJWT's decode):
every token ``jwt.decode`` would refuse with our options is refused, as InvalidToken and
never an exception of another kind (a 500 on userinfo or introspection)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from app.extensions import db
from app.services import keys
from app.services import tokens
from app.tenancy import issuer_for


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(tenant, **changes):
    now = int(time.time())
    claims = {
        "iss": issuer_for(tenant),
        "sub": "usr_x",
        "aud": "cli_x",
        "client_id": "cli_x",
        "scope": "openid",
        "exp": now + 300,
        "iat": now,
        "jti": "abc",
        "tenant_id": tenant.id,
        "roles": [],
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not ...}


def _sign(tenant, claims, alg="ES256", **header):
    key = keys.signing_key(tenant, alg)
    headers = {"kid": key.kid, "typ": "at+jwt", **header}
    return jwt.encode(claims, key.private, algorithm=alg, headers=headers)


@pytest.fixture
def ctx(app, tenant):
    with app.app_context():
        yield tenant
        db.session.rollback()


def test_a_good_token_is_accepted(ctx):
    token = _sign(ctx, _claims(ctx))
    assert tokens.decode_access_token(ctx, token)["sub"] == "usr_x"


# Times relative to the moment the test runs (not when it was collected): ``now + n``.
_IN = object()


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": (_IN, -1)},
        {"exp": "soon"},
        {"exp": True},
        {"exp": ...},
        {"iat": (_IN, 600)},
        {"iat": ...},
        {"nbf": (_IN, 600)},
        {"iss": "https://evil.example"},
        {"iss": ...},
        {"sub": 42},
        {"sub": ...},
        {"jti": 7},
        {"tenant_id": "ten_other"},
    ],
)
def test_bad_claims_are_refused(ctx, changes):
    now = int(time.time())
    changes = {
        k: now + v[1] if isinstance(v, tuple) and v[0] is _IN else v for k, v in changes.items()
    }
    token = _sign(ctx, _claims(ctx, **changes))
    with pytest.raises(tokens.InvalidToken):
        tokens.decode_access_token(ctx, token)


def _tampered(ctx):
    good = _sign(ctx, _claims(ctx))
    head, payload, sig = good.split(".")
    key = keys.signing_key(ctx, "ES256")
    other = _b64(json.dumps(_claims(ctx, sub="usr_admin")).encode())
    none_head = _b64(json.dumps({"alg": "none", "kid": key.kid, "typ": "at+jwt"}).encode())
    rs_head = _b64(json.dumps({"alg": "RS256", "kid": key.kid, "typ": "at+jwt"}).encode())
    return [
        f"{head}.{other}.{sig}",  # claims changed under the signature
        f"{none_head}.{payload}.",  # alg none
        f"{rs_head}.{payload}.{sig}",  # another algorithm for the key
        f"{head}.{payload}.{sig[:-4]}",  # signature of the wrong length
        f"{head}.{payload}.{_b64(b'x' * 64)}",  # wrong signature
        f"{head}.{payload}.{sig}=",  # padding (not base64url per RFC 7515)
        f"{head}.{payload}é.{sig}",  # not ASCII
        f"{head}.{payload}",  # two parts
        f"{head}.{payload}.{sig}.{sig}",  # four parts
        f"{_b64(b'[1]')}.{payload}.{sig}",  # header not an object
        f"{_b64(b'not json')}.{payload}.{sig}",
        _sign(ctx, _claims(ctx), crit=["exp"]),  # an extension we do not implement
        _sign(ctx, _claims(ctx), kid="key_unknown"),
        "",
        "x" * 9000,
    ]


def test_tampered_and_malformed_tokens_are_refused(ctx):
    for token in _tampered(ctx):
        with pytest.raises(tokens.InvalidToken):
            tokens.decode_access_token(ctx, token)


def test_an_id_token_is_not_an_access_token(ctx):
    token = _sign(ctx, _claims(ctx), alg="RS256", typ="JWT")
    with pytest.raises(tokens.InvalidToken):
        tokens.decode_access_token(ctx, token)
    # but it is a valid id_token_hint, even expired (RP-initiated logout)
    expired = _sign(ctx, _claims(ctx, exp=int(time.time()) - 60), alg="RS256", typ="JWT")
    assert tokens.verify_id_token_hint(ctx, expired)["sub"] == "usr_x"
