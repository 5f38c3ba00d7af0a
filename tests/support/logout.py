"""A relying party's back-channel logout endpoint on loopback (a real HTTP server), and
the checks a relying party makes of each Logout Token (OIDC Back-Channel Logout 1.0 §2.6)
against the issuer's JWKS fetched over HTTP."""

from __future__ import annotations

import time
from urllib.parse import parse_qs

import jwt

from tests.support.receiver import Receiver
from tests.support.receiver import Reply

EVENT = "http://schemas.openid.net/event/backchannel-logout"


class LogoutReceiver:
    """``LogoutReceiver(statuses=[500, 400])``: answers those statuses first, then 200;
    ``tokens(path)`` lists the ``logout_token`` of every POST received at ``path``."""

    def __init__(self, statuses: list[int] | None = None):
        self.statuses = list(statuses or [])
        self.server = Receiver(self._answer)

    def _answer(self, method, path):
        status = self.statuses.pop(0) if self.statuses else 200
        return Reply(status, "" if status == 200 else f"status {status}")

    def url(self, path: str = "/backchannel-logout") -> str:
        return self.server.url(path)

    @property
    def hits(self) -> list:
        return list(self.server.hits)

    def tokens(self, path: str | None = None) -> list[str]:
        found = []
        for method, hit_path, headers, body in self.hits:
            if path is not None and hit_path != path:
                continue
            assert method == "POST", method
            media = {k.lower(): v for k, v in headers.items()}["content-type"]
            assert media.split(";")[0] == "application/x-www-form-urlencoded", media
            form = parse_qs(body.decode(), strict_parsing=True)
            assert list(form) == ["logout_token"], form
            found.append(form["logout_token"][0])
        return found

    def wait_for(self, count: int, path: str | None = None, timeout: float = 10.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            tokens = self.tokens(path)
            if len(tokens) >= count:
                return tokens
            time.sleep(0.02)
        raise AssertionError(f"{len(self.tokens(path))} logout tokens, expected {count}")

    def close(self):
        self.server.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def verify_logout_token(
    token: str, *, jwks: dict, issuer: str, client_id: str, alg: str = "RS256"
) -> dict:
    """Validate as §2.6 says a relying party must; answers the claims. Checks the
    signature with the key named by ``kid`` in ``jwks``, ``typ``, ``iss``, ``aud``, ``iat``
    and a short ``exp``, ``jti``, ``sub``/``sid``, ``events`` and the absence of ``nonce``."""
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "logout+jwt", header
    assert header["alg"] == alg, header
    matching = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    assert len(matching) == 1, f"kid {header['kid']} is not in the issuer's JWKS"
    jwk = matching[0]
    claims = jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=[alg],
        audience=client_id,
        issuer=issuer,
        options={"require": ["iss", "aud", "iat", "exp", "jti", "sub", "events"]},
    )
    now = time.time()
    assert claims["iat"] <= now + 1 and 0 < claims["exp"] - claims["iat"] <= 120, claims
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16
    assert claims["events"] == {EVENT: {}}, claims["events"]
    assert "nonce" not in claims, claims
    assert claims["sub"] and claims["sid"], claims
    return claims


def drain(app, until=None, timeout: float = 10.0) -> None:
    """Worker passes (the real code) until ``until()`` holds, or until idle."""
    from app import worker

    deadline = time.monotonic() + timeout
    with app.app_context():
        while time.monotonic() < deadline:
            handled = worker.run_once()
            if until is not None and until():
                return
            if until is None and not handled:
                return
            time.sleep(0.02)
    if until is not None:
        raise AssertionError("the worker did not get there in time")
