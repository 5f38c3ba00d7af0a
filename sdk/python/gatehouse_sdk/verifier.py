"""Verify Gatehouse access tokens (RFC 9068 JWT profile) in a resource server.

    verifier = TokenVerifier(
        issuers=["https://acme-corp.auth.example", "https://globex.auth.example"],
        audience="https://api.example.com",   # your API's identifier (its tokens' aud)
    )
    claims = verifier.verify(token)   # raises InvalidToken

Checks, in order: the JOSE header (``typ`` is ``at+jwt``, RFC 9068 §2.1; ``alg`` in
an allow-list of asymmetric algorithms, never ``none`` or ``HS*``, RFC 8725 §3.1/§3.2;
a ``kid``), the ``iss`` claim against the allow-list *before* any key is fetched, the
signature with the issuer's published key for that ``kid``, then ``exp``/``iat``/
``nbf`` with a small leeway, ``aud``, and the Gatehouse claims every access token
carries (``sub``, ``client_id``, ``tenant_id``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from collections.abc import Iterable

import jwt
from jwt.utils import base64url_decode

from gatehouse_sdk.jwks import Fetch
from gatehouse_sdk.jwks import JWKSCache
from gatehouse_sdk.jwks import JWKSFetchError
from gatehouse_sdk.jwks import http_fetch

ALLOWED_ALGORITHMS = ("ES256", "RS256")
# RFC 8725 §3.1: the algorithm must fit the key; never let the token pick the key type.
_KEY_TYPE = {"ES256": "EC", "ES384": "EC", "RS256": "RSA", "PS256": "RSA"}
_ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt"}
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "client_id", "tenant_id")


class InvalidToken(Exception):
    """The token is malformed, forged, expired or not meant for this resource server.

    Answered as 401 with ``error="invalid_token"`` (RFC 6750 §3.1). ``description`` is
    safe to show to the caller.
    """

    def __init__(self, description: str):
        super().__init__(description)
        self.description = description


class KeysUnavailable(Exception):
    """The issuer's keys could not be fetched: a server-side problem (answer 503)."""


def _decode_header(token: str) -> dict:
    # The header is read before the signature is checked, and only to choose the key.
    if not isinstance(token, str) or token.count(".") != 2:
        raise InvalidToken("the token is not a JWS in compact serialization")
    try:
        header = json.loads(base64url_decode(token.split(".", 1)[0].encode()))
    except (ValueError, TypeError) as exc:
        raise InvalidToken("the token header is not valid JSON") from exc
    if not isinstance(header, dict):
        raise InvalidToken("the token header is not a JSON object")
    return header


def _unverified_claims(token: str) -> dict:
    try:
        claims = json.loads(base64url_decode(token.split(".")[1].encode()))
    except (ValueError, TypeError) as exc:
        raise InvalidToken("the token payload is not valid JSON") from exc
    if not isinstance(claims, dict):
        raise InvalidToken("the token payload is not a JSON object")
    return claims


class TokenVerifier:
    """Verifies access tokens of an allow-list of Gatehouse tenant issuers.

    ``fetch(url) -> dict`` reads discovery and JWKS documents (injectable: e.g.
    :func:`gatehouse_sdk.jwks.loopback_fetch` in development); ``leeway`` is the clock skew
    tolerated on ``exp``/``iat``/``nbf``, in seconds.
    """

    def __init__(
        self,
        issuers: Iterable[str],
        audience: str | Iterable[str],
        *,
        algorithms: Iterable[str] = ALLOWED_ALGORITHMS,
        leeway: float = 30.0,
        fetch: Fetch = http_fetch,
        jwks: JWKSCache | None = None,
        max_age: float = 600.0,
        min_refresh_interval: float = 30.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.issuers = frozenset(issuer.rstrip("/") for issuer in issuers)
        if not self.issuers:
            raise ValueError("at least one issuer is required")
        self.audience = [audience] if isinstance(audience, str) else list(audience)
        if not self.audience:
            raise ValueError("an audience is required")
        self.algorithms = tuple(algorithms)
        unsafe = [alg for alg in self.algorithms if alg not in _KEY_TYPE]
        if unsafe:
            raise ValueError(f"algorithms not allowed: {', '.join(unsafe)}")
        self.leeway = leeway
        options = {"max_age": max_age, "min_refresh_interval": min_refresh_interval}
        if clock is not None:
            options["clock"] = clock
        self.jwks = jwks or JWKSCache(fetch, **options)

    def verify(self, token: str) -> dict:
        """The verified claims of ``token``; raises :class:`InvalidToken` otherwise."""
        header = _decode_header(token)
        typ = str(header.get("typ", "")).lower()
        if typ not in _ACCESS_TOKEN_TYPES:
            raise InvalidToken("the token is not an access token (typ must be at+jwt)")
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise InvalidToken(f"the token algorithm {alg!r} is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token header names no key (kid)")

        # Check the issuer before fetching anything: an attacker must not be able to
        # make us fetch keys from a URL of their choosing.
        issuer = _unverified_claims(token).get("iss")
        if not isinstance(issuer, str) or issuer not in self.issuers:
            raise InvalidToken("the token was issued by an issuer that is not trusted here")

        try:
            jwk = self.jwks.get_key(issuer, kid)
        except JWKSFetchError as exc:
            raise KeysUnavailable(str(exc)) from exc
        if jwk is None:
            raise InvalidToken("the token is signed with a key its issuer does not publish")
        if jwk.get("kty") != _KEY_TYPE[alg] or jwk.get("alg", alg) != alg:
            raise InvalidToken("the token algorithm does not match its key")

        try:
            key = jwt.PyJWK(jwk, algorithm=alg).key
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=issuer,
                leeway=self.leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("the token has expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidToken("the token is not meant for this audience") from exc
        except jwt.InvalidSignatureError as exc:
            raise InvalidToken("the token signature is invalid") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the token is invalid: {exc}") from exc
        return claims


def token_scopes(claims: dict) -> set[str]:
    """The scopes granted by a token (RFC 9068 §2.2.3: space-delimited ``scope``)."""
    scope = claims.get("scope") or ""
    return set(scope.split()) if isinstance(scope, str) else set()


def token_permissions(claims: dict) -> set[str]:
    """The API permissions a token carries: for a token of one API (``resource=`` at
    Gatehouse, RFC 8707), its ``scope`` holds exactly those permissions."""
    return token_scopes(claims)


def token_roles(claims: dict) -> set[str]:
    """The roles a Gatehouse token carries (tenant roles plus active-org roles)."""
    roles = claims.get("roles") or []
    return {role for role in roles if isinstance(role, str)} if isinstance(roles, list) else set()
