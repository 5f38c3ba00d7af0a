"""ID token validation against a provider's JWKS (OIDC Core §3.1.3.7), including
Microsoft's multi-tenant issuer template; keys served by a tiny local web server."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from app.models.provider import UpstreamProvider
from app.upstream import client
from tests.support.upstream import DoctoredDiscovery

TID = "9188040d-6c67-4c5b-b112-36a304b66dad"
TEMPLATE = "https://login.microsoftonline.com/{tenantid}/v2.0"


@pytest.fixture
def signer():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    server = DoctoredDiscovery(lambda origin: {"keys": [{**jwk, "kid": "k1", "use": "sig"}]})
    yield key, server
    server.close()


def _token(key, **claims):
    now = int(time.time())
    body = {"sub": "s", "aud": "cid", "iat": now, "exp": now + 300, "nonce": "n", **claims}
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})


def _check(app, server, kind, issuer, token, nonce="n"):
    provider = UpstreamProvider(id=f"idp_{kind}", kind=kind, name=kind, client_id="cid")
    meta = {"issuer": issuer, "jwks_uri": server.origin + "/keys"}
    with app.app_context():
        return client.validate_id_token(provider, meta, token, nonce)


def test_microsoft_issuer_follows_the_tenant_template(app, signer):
    key, server = signer
    good = _token(key, iss=f"https://login.microsoftonline.com/{TID}/v2.0", tid=TID)
    assert _check(app, server, "microsoft", TEMPLATE, good)["tid"] == TID
    other = _token(key, iss=f"https://login.microsoftonline.com/{TID}/v2.0", tid="another")
    with pytest.raises(client.UpstreamError) as refused:
        _check(app, server, "microsoft", TEMPLATE, other)
    assert refused.value.reason == "issuer_mismatch"


@pytest.mark.parametrize(
    "claims, nonce, reason",
    [
        ({"iss": "https://evil.example"}, "n", "issuer_mismatch"),
        ({"iss": "https://idp.example", "aud": "someone-else"}, "n", "bad_id_token"),
        ({"iss": "https://idp.example", "exp": 1}, "n", "bad_id_token"),
        ({"iss": "https://idp.example"}, "other", "nonce_mismatch"),
    ],
)
def test_refused_id_tokens(app, signer, claims, nonce, reason):
    key, server = signer
    with pytest.raises(client.UpstreamError) as refused:
        _check(app, server, "oidc", "https://idp.example", _token(key, **claims), nonce)
    assert refused.value.reason == reason


def test_foreign_signature_and_unsigned_tokens_are_refused(app, signer):
    key, server = signer
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = _token(stranger, iss="https://idp.example")
    with pytest.raises(client.UpstreamError):
        _check(app, server, "oidc", "https://idp.example", forged)
    unsigned = jwt.encode({"iss": "https://idp.example", "sub": "s"}, None, algorithm="none")
    with pytest.raises(client.UpstreamError):
        _check(app, server, "oidc", "https://idp.example", unsigned)
    assert _check(
        app, server, "oidc", "https://idp.example", _token(key, iss="https://idp.example")
    )
