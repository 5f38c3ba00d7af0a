"""Access tokens (RFC 9068 JWTs) and ID tokens (OIDC Core §2): minting and verifying.

Access tokens are signed with the tenant's active ES256 key (``typ: at+jwt``), ID tokens
with its RS256 key unless the client registered another ``id_token_signed_response_alg``.
The ``jti`` of a user's access token starts with the id of the grant (refresh family) that
produced it, so revoking the grant revokes its access tokens too (RFC 6749 §4.1.2: a
replayed code revokes what it produced) without adding claims beyond DESIGN §4.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from datetime import UTC
from datetime import datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from jwt.algorithms import get_default_algorithms
from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import true

from app import json_codec
from app.extensions import db
from app.models import Client
from app.models import Grant
from app.models import RevokedAccessToken
from app.models import Tenant
from app.models import User
from app.models.base import utcnow
from app.security.tokens import new_token
from app.services import claims_request
from app.services import keys
from app.services.settings import get_settings
from app.tenancy import issuer_for
from app.tenancy import scope

ACCESS_TOKEN_TYP = "at+jwt"
ACCESS_TOKEN_ALG = "ES256"
LEEWAY_SECONDS = 0


class InvalidToken(Exception):
    """A token that this tenant does not accept (the message says why, for logs)."""


def scopes_of(scope_value: str | None) -> set[str]:
    return set((scope_value or "").split())


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@lru_cache(maxsize=4096)
def _header_segment(alg: str, kid: str, typ: str) -> bytes:
    """The JWS protected header, encoded: the same bytes ``jwt.encode`` writes (sorted
    keys, no spaces), made once per key and type."""
    header = {"alg": alg, "kid": kid, "typ": typ}
    return _b64(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


def _sign(tenant: Tenant, alg: str, claims: dict, typ: str) -> str:
    """A compact JWS (RFC 7515 §7.1) of ``claims`` (compact JSON, app/json_codec.py:
    non-ASCII as UTF-8 rather than ``\\u`` escapes, else the bytes ``jwt.encode`` makes), signed by
    PyJWT's algorithm object with the worker's parsed key; without PyJWT's per-call
    header merging and checks (a tenth of a refresh's CPU, two tokens each)."""
    key = keys.signing_key(tenant, alg)
    payload = _b64(json_codec.dumps(claims))
    signing_input = _header_segment(alg, key.kid, typ) + b"." + payload
    signature = _ALGORITHMS[alg].sign(signing_input, key.private)
    return (signing_input + b"." + _b64(signature)).decode("ascii")


def access_token_ttl(tenant: Tenant) -> int:
    return int(get_settings(tenant)["access_token_ttl_seconds"])


def mint_access_token(
    tenant: Tenant,
    client: Client,
    *,
    subject: str,
    scope: str,
    roles: list[str],
    grant_id: str | None = None,
    sid: str | None = None,
    org_id: str | None = None,
    audience: str | None = None,
    ttl: int | None = None,
    extra: dict | None = None,
    jkt: str | None = None,
    not_after: int | None = None,
) -> tuple[str, dict]:
    """A signed RFC 9068 access token and its claims (exactly DESIGN §4). ``audience``: an
    API resource's identifier (RFC 8707; default the client), ``ttl``: its lifetime,
    ``extra``: custom claims (never replacing one of these), ``jkt``: the DPoP key it is
    bound to (RFC 9449 §6.1: ``cnf.jkt``), ``not_after``: the latest ``exp`` it may have
    (e.g. the token it was exchanged for)."""
    now = int(time.time())
    exp = now + (ttl or access_token_ttl(tenant))
    if not_after is not None:
        exp = min(exp, int(not_after))
    claims = {
        "iss": issuer_for(tenant),
        "sub": subject,
        "aud": audience or client.id,
        "client_id": client.id,
        "scope": scope,
        "exp": exp,
        "iat": now,
        "jti": f"{grant_id}.{new_token(12)}" if grant_id else new_token(16),
        "tenant_id": tenant.id,
        "roles": sorted(set(roles)),
    }
    if sid:
        claims["sid"] = sid
    if org_id:
        claims["org_id"] = org_id
    if jkt:
        claims["cnf"] = {"jkt": jkt}
    if extra:
        claims = {**extra, **claims}
    return _sign(tenant, ACCESS_TOKEN_ALG, claims, ACCESS_TOKEN_TYP), claims


def token_type_of(claims: dict) -> str:
    """``DPoP`` for a token bound to a key (RFC 9449 §5), else ``Bearer``."""
    return "DPoP" if bound_jkt(claims) else "Bearer"


def bound_jkt(claims: dict) -> str | None:
    """The DPoP key thumbprint an access token is bound to (``cnf.jkt``), or None."""
    cnf = claims.get("cnf")
    return cnf.get("jkt") if isinstance(cnf, dict) else None


def half_hash(value: str, alg: str) -> str:
    """``at_hash``: left half of the SHA-256 of the token, base64url (OIDC Core §3.1.3.6)."""
    if not alg.endswith("256"):
        raise ValueError(f"unsupported algorithm {alg}")
    digest_bytes = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest_bytes[: len(digest_bytes) // 2]).rstrip(b"=").decode()


def user_claims(user, scope: str) -> dict:
    """Claims about the user released by scope (OIDC Core §5.4); ``user`` is a ``User``
    or a row with its columns."""
    granted = scopes_of(scope)
    claims: dict = {"sub": user.id}
    if "profile" in granted:
        claims["name"] = user.name or ""
        claims["updated_at"] = int(user.created_at.timestamp()) if user.created_at else None
        claims = {k: v for k, v in claims.items() if v is not None}
    if "email" in granted:
        claims["email"] = user.email
        claims["email_verified"] = bool(user.email_verified)
    return claims


def mint_id_token(
    tenant: Tenant,
    client: Client,
    user: User,
    *,
    scope: str,
    auth_time,
    amr: list[str] | None = None,
    nonce: str | None = None,
    sid: str | None = None,
    org_id: str | None = None,
    access_token: str | None = None,
    idp: str | None = None,
    extra: dict | None = None,
) -> str:
    """A signed ID token with the standard claims plus ``tenant_id`` and ``org_id`` (and
    ``idp``, the enterprise connection, after a sign-in through one)."""
    alg = client.id_token_signed_response_alg or "RS256"
    now = int(time.time())
    claims = {
        "iss": issuer_for(tenant),
        "aud": client.id,
        "azp": client.id,
        "iat": now,
        "exp": now + int(get_settings(tenant)["id_token_ttl_seconds"]),
        "auth_time": int(auth_time.timestamp()) if auth_time else now,
        "tenant_id": tenant.id,
        **user_claims(user, scope),
    }
    if amr:
        claims["amr"] = list(amr)
    if nonce:
        claims["nonce"] = nonce
    if sid:
        claims["sid"] = sid
    if org_id:
        claims["org_id"] = org_id
    if access_token:
        claims["at_hash"] = half_hash(access_token, alg)
    if idp:
        claims["idp"] = idp
    if extra:  # custom claims never replace a claim set above
        claims = {**extra, **claims}
    return _sign(tenant, alg, claims, "JWT")


# --- verification -----------------------------------------------------------------------


_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")  # base64url without padding (RFC 7515 §2)
_ALGORITHMS = get_default_algorithms()


def _segment(value: str) -> bytes:
    if not _SEGMENT.fullmatch(value):
        raise InvalidToken("malformed")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError as exc:
        raise InvalidToken("malformed") from exc


def _json_object(raw: bytes) -> dict:
    try:
        value = json_codec.loads(raw)
    except ValueError as exc:
        raise InvalidToken("malformed") from exc
    if not isinstance(value, dict):
        raise InvalidToken("malformed")
    return value


def _int_claim(claims: dict, name: str) -> int:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"{name} must be a number")
    return int(value)


def _check_claims(tenant: Tenant, claims: dict, verify_exp: bool) -> None:
    """What ``jwt.decode`` checks with our options (required iss/exp/iat/sub, iat and
    nbf not in the future, exp in the future, iss this tenant's issuer, sub and jti
    strings), plus the tenant."""
    for name in ("iss", "exp", "iat", "sub"):
        if claims.get(name) is None:
            raise InvalidToken(f"missing {name}")
    now = time.time()
    if _int_claim(claims, "iat") > now + LEEWAY_SECONDS:
        raise InvalidToken("not yet valid (iat)")
    if "nbf" in claims and _int_claim(claims, "nbf") > now + LEEWAY_SECONDS:
        raise InvalidToken("not yet valid (nbf)")
    exp = _int_claim(claims, "exp")
    if verify_exp and exp <= now - LEEWAY_SECONDS:
        raise InvalidToken("expired")
    if claims["iss"] != issuer_for(tenant):
        raise InvalidToken("wrong issuer")
    if not isinstance(claims["sub"], str) or not isinstance(claims.get("jti", ""), str):
        raise InvalidToken("malformed claims")
    if claims.get("tenant_id") != tenant.id:
        raise InvalidToken("wrong tenant")


def _header(segment: str) -> MappingProxyType:
    """The protected header of a compact JWS, read only. Every token signed by one key
    carries the same header bytes, so a header of the size ours have is parsed once per
    worker (a refused header raises, and is not kept); a few per tenant (kid × typ), a
    4,096-entry cache holds a thousand or more tenants' at some 2 MB at most."""
    if len(segment) <= _HEADER_CACHED_MAX:
        return _cached_header(segment)
    return _parse_header(segment)


_HEADER_CACHED_MAX = 200  # characters of base64url; ours are about 100


def _parse_header(segment: str) -> MappingProxyType:
    header = _json_object(_segment(segment))
    if "crit" in header or "b64" in header:  # no JWS extensions are understood here
        raise InvalidToken("unsupported header")
    return MappingProxyType(header)


_cached_header = lru_cache(maxsize=4096)(_parse_header)


def _decode(tenant: Tenant, token: str, *, verify_exp: bool = True) -> tuple[Any, dict]:
    """Header and claims of a JWT signed by one of THIS tenant's published keys.

    The compact JWS is parsed once (PyJWT's ``decode`` after ``get_unverified_header``
    parsed it twice and checked the alphabet character by character in Python: ~40% of
    a userinfo request); the signature is checked by PyJWT's algorithm object with the
    key object parsed once per worker (and once per token while its key is published:
    ``_VERIFIED`` below), the claims as ``jwt.decode`` would."""
    if not isinstance(token, str) or not token or len(token) > 8192:
        raise InvalidToken("not a token")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("malformed")
    header = _header(parts[0])
    key = keys.verification_key(tenant, header.get("kid"))
    if key is None:
        raise InvalidToken("unknown kid")
    if header.get("alg") != key.alg:  # no alg confusion: the key fixes the algorithm
        raise InvalidToken("algorithm mismatch")
    verified = _VERIFIED.get(token)
    known = verified is not None and verified[0] is key
    payload = verified[1] if known else _verified_payload(key, parts)
    claims = _json_object(payload)  # parsed afresh: no caller shares a cached dict
    _check_claims(tenant, claims, verify_exp)
    if not known and len(token) <= _VERIFIED_TOKEN_MAX:
        _remember(token, key, payload)
    return header, claims


def _verified_payload(key, parts: list[str]) -> bytes:
    """The payload of a compact JWS whose signature ``key`` verifies."""
    payload, signature = _segment(parts[1]), _segment(parts[2])  # base64url: ASCII
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    try:
        valid = _ALGORITHMS[key.alg].verify(signing_input, key.public, signature)
    except (ValueError, TypeError):  # e.g. a signature of the wrong length
        valid = False
    if not valid:
        raise InvalidToken("bad signature")
    return payload


# Tokens whose signature a key verified, by the exact token: token → (key, payload bytes).
# A resource server presents the same access token to userinfo or introspection for as long
# as it lives, and the ES256 verification is a third of such a request. A hit still needs
# the SAME key object to be published for the header's kid now (a retired, removed or
# reloaded key verifies again, or not at all), and the claims are parsed and checked
# (expiry, issuer, tenant) on every use, and revocation read, as for a first presentation.
# Only tokens that passed every check are kept; first in, first out, bounded (a few MB).
_VERIFIED: dict[str, tuple[Any, bytes]] = {}
_VERIFIED_MAX = 2048
_VERIFIED_TOKEN_MAX = 4096  # characters; longer tokens are verified every time
_VERIFIED_LOCK = threading.Lock()


def _remember(token: str, key, payload: bytes) -> None:
    with _VERIFIED_LOCK:
        _VERIFIED[token] = (key, payload)
        while len(_VERIFIED) > _VERIFIED_MAX:
            del _VERIFIED[next(iter(_VERIFIED))]


def grant_id_of(claims: dict) -> str | None:
    jti = claims.get("jti") or ""
    return jti.split(".", 1)[0] if jti.startswith("gnt_") and "." in jti else None


def decode_access_token(tenant: Tenant, token: str) -> dict:
    """The claims of an access token of this tenant, WITHOUT the revocation checks (no
    database): signature with this tenant's keys, ``typ`` at+jwt (an ID token is not an
    access token), ``iss``, ``tenant_id``, ``exp``. Raises InvalidToken."""
    header, claims = _decode(tenant, token)
    typ = str(header.get("typ", "")).lower()
    if typ not in {ACCESS_TOKEN_TYP, "application/at+jwt"}:
        raise InvalidToken("not an access token")
    if not claims.get("jti") or not claims.get("client_id"):
        raise InvalidToken("missing claims")
    return claims


def _liveness(tenant, with_grant: bool) -> tuple:
    """Two SQL booleans: the token (``:jti``) was not revoked (RFC 7009), and its grant
    (``:grant_id``) exists and was not revoked (true for a token without a grant).
    Plain Core (tables, not mapped classes): the reads that use them return row tuples."""
    revoked = RevokedAccessToken.__table__.c
    token_live = ~(
        select(revoked.jti)
        .where(revoked.tenant_id == tenant, revoked.jti == bindparam("jti"))
        .exists()
    )
    if not with_grant:
        return token_live, true()
    grants = Grant.__table__.c
    grant_live = (
        select(grants.id)
        .where(
            grants.tenant_id == tenant,
            grants.id == bindparam("grant_id"),
            grants.revoked_at.is_(None),
        )
        .exists()
    )
    return token_live, grant_live


def _liveness_params(claims: dict) -> tuple[str, dict]:
    grant_id = grant_id_of(claims)
    suffix = "grant" if grant_id else "plain"
    return suffix, {"jti": claims["jti"], "grant_id": grant_id}


def check_liveness(token_live, grant_live) -> None:
    if not grant_live:
        raise InvalidToken("grant revoked")
    if not token_live:
        raise InvalidToken("revoked")


def verify_access_token(tenant: Tenant, token: str) -> dict:
    """The claims of a live access token of this tenant; raises InvalidToken.

    :func:`decode_access_token`, then one round trip for both revocation checks: the token
    itself (RFC 7009) and its grant.
    """
    claims = decode_access_token(tenant, token)
    suffix, params = _liveness_params(claims)
    (row,) = scope(tenant).read_prepared(
        f"access.live.{suffix}", lambda t: select(*_liveness(t, suffix == "grant")), **params
    )
    check_liveness(*row)
    return claims


# What userinfo reads of a user (user_claims and the status), as plain columns: a row
# tuple, no ORM entity to build and track for a read-only request.
_USERINFO_COLUMNS = tuple(
    getattr(User.__table__.c, name)
    for name in ("id", "name", "email", "email_verified", "created_at", "status")
)


def userinfo_user(tenant: Tenant, token: str) -> tuple[dict, Any]:
    """A live access token's claims and its active user's columns (``id``, ``name``,
    ``email``, ``email_verified``, ``created_at``; None for a token without a user, e.g.
    client_credentials), in one round trip; raises InvalidToken."""
    claims = decode_access_token(tenant, token)
    suffix, params = _liveness_params(claims)
    rows = scope(tenant).read_prepared(
        f"userinfo.{suffix}",
        lambda t: select(
            *_USERINFO_COLUMNS, claims_request.userinfo_column(t), *_liveness(t, suffix == "grant")
        ).where(User.__table__.c.tenant_id == t, User.__table__.c.id == bindparam("sub")),
        sub=str(claims.get("sub")),
        **params,
    )
    row = rows[0] if rows else None
    if row is None:  # no such user: still say "revoked" when it is
        verify_access_token(tenant, token)
        return claims, None
    token_live, grant_live = row[-2], row[-1]
    check_liveness(token_live, grant_live)
    return claims, (row if row.status == "active" else None)


def verify_id_token_hint(tenant: Tenant, token: str) -> dict:
    """Claims of an ID token this tenant issued (expiry not checked: OIDC RP-initiated
    logout accepts an expired hint); raises InvalidToken."""
    header, claims = _decode(tenant, token, verify_exp=False)
    if str(header.get("typ", "")).lower() == ACCESS_TOKEN_TYP:
        raise InvalidToken("an access token is not an id_token_hint")
    return claims


def revoke_access_token(tenant: Tenant, claims: dict) -> None:
    """Remember a revoked access token's jti until it would have expired."""
    jti = claims["jti"]
    if scope(tenant).count(RevokedAccessToken, RevokedAccessToken.jti == jti):
        return
    expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
    scope(tenant).add(RevokedAccessToken(jti=jti, expires_at=max(expires, utcnow())))
    db.session.flush()
