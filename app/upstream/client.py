"""Talking to an upstream provider: discovery, the authorization request (state, nonce,
PKCE S256), the token request (Authlib's OAuth2Session) and ID token validation.

- Discovery (OIDC Discovery 1.0 §4.3): the document's ``issuer`` must equal the URL it
  was fetched from, minus ``/.well-known/openid-configuration`` (except Microsoft's
  multi-tenant document, whose issuer is the template ``.../{tenantid}/v2.0``).
- ID token (OIDC Core §3.1.3.7): signature by a key of the provider's JWKS, ``iss`` equal
  to the discovery issuer, ``aud`` containing our client_id, ``exp``, and ``nonce`` equal
  to the one we sent.
- GitHub is OAuth 2 without ID tokens: the profile comes from its user API, with the
  verified primary email from ``/user/emails``.
- Every request to the provider (discovery, JWKS, token, userinfo) goes through the
  outbound guard (app.security.outbound): no private addresses unless
  ``OUTBOUND_ALLOW_PRIVATE``, every redirect re-checked, bounded time and size. The
  endpoints named by a discovery document are checked before they are used, and every
  network failure answers the same message, so a provider URL cannot be used to map
  which internal ports are open.
"""

from __future__ import annotations

import base64
import hmac
import time
from urllib.parse import quote

import jwt
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app

from app.models.provider import UpstreamProvider
from app.security import outbound
from app.services import providers as providers_service
from app.services.upstream import Profile

TIMEOUT = 10
UNREACHABLE = "The identity provider could not be reached."
# Endpoints of a discovery document that the server itself calls (the authorization
# endpoint is only a browser redirect).
SERVER_ENDPOINTS = ("token_endpoint", "jwks_uri", "userinfo_endpoint")
CACHE_SECONDS = 300
DISCOVERY_SUFFIX = "/.well-known/openid-configuration"
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
GITHUB = {
    "issuer": "https://github.com",
    "authorization_endpoint": "https://github.com/login/oauth/authorize",
    "token_endpoint": "https://github.com/login/oauth/access_token",
    "user_endpoint": "https://api.github.com/user",
    "emails_endpoint": "https://api.github.com/user/emails",
}


class UpstreamError(Exception):
    """The provider's answer cannot be trusted or used; ``reason`` is a short code."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def _cache() -> dict:
    return current_app.extensions.setdefault("gatehouse.upstream_cache", {})


def _request_json(method: str, url: str, **kwargs):
    """One guarded request answering JSON; any failure is the one UNREACHABLE error."""
    try:
        response = outbound.fetch(
            method, url, allow_private=outbound.allow_private(), timeout=TIMEOUT, **kwargs
        )
    except outbound.OutboundError as exc:
        raise UpstreamError(f"unreachable:{exc.reason}", UNREACHABLE) from exc
    try:
        data = response.json()
    except ValueError:
        data = None
    return response, data


def _get_json(url: str, **kwargs) -> dict | list:
    response, data = _request_json("GET", url, **kwargs)
    if not response.ok or not isinstance(data, dict | list):
        raise UpstreamError(f"bad_response:{response.status_code}", UNREACHABLE)
    return data


def _cached(key: str, load, *, refresh: bool = False):
    entry = _cache().get(key)
    if entry and entry[0] > time.monotonic() and not refresh:
        return entry[1]
    value = load()
    _cache()[key] = (time.monotonic() + CACHE_SECONDS, value)
    return value


def metadata(provider: UpstreamProvider) -> dict:
    """The provider's endpoints (discovery, cached briefly per provider and URL)."""
    if provider.kind == "github":
        return GITHUB
    url = provider.discovery_url or ""
    return _cached(f"discovery:{provider.id}:{url}", lambda: _discover(provider, url))


def _discover(provider: UpstreamProvider, url: str) -> dict:
    doc = _get_json(url)
    required = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), str) for k in required):
        raise UpstreamError("bad_discovery", UNREACHABLE)
    try:  # the browser is sent there: an absolute http(s) URL, wherever it points
        outbound.check_url(doc["authorization_endpoint"], allow_private=True, resolve=False)
    except outbound.OutboundError as exc:
        raise UpstreamError("bad_discovery:authorization_endpoint", UNREACHABLE) from exc
    for key in SERVER_ENDPOINTS:
        if key not in doc:
            continue
        try:
            outbound.check_url(doc[key], allow_private=outbound.allow_private())
        except (outbound.OutboundError, TypeError) as exc:
            raise UpstreamError(f"bad_discovery:{key}", UNREACHABLE) from exc
    # OIDC Discovery §4.3: the issuer is the URL the document was fetched from.
    if provider.kind != "microsoft" and doc["issuer"] + DISCOVERY_SUFFIX != url:
        raise UpstreamError(
            "issuer_mismatch", "The identity provider's metadata names another issuer."
        )
    return doc


def _session(provider: UpstreamProvider, redirect_uri: str, **kwargs) -> OAuth2Session:
    return OAuth2Session(
        client_id=provider.client_id,
        client_secret=providers_service.client_secret(provider),
        token_endpoint_auth_method=(
            "client_secret_post" if provider.kind == "github" else "client_secret_basic"
        ),
        scope=" ".join(provider.scopes or []),
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        default_timeout=TIMEOUT,
        **kwargs,
    )


def authorization_url(
    provider: UpstreamProvider, redirect_uri: str, *, state: str, nonce: str, verifier: str
) -> str:
    """Where to send the browser: the authorization request with state, nonce and PKCE."""
    meta = metadata(provider)
    extra = {} if provider.kind == "github" else {"nonce": nonce}
    with _session(provider, redirect_uri) as session:
        url, _ = session.create_authorization_url(
            meta["authorization_endpoint"], state=state, code_verifier=verifier, **extra
        )
    return url


def fetch_profile(
    provider: UpstreamProvider, redirect_uri: str, *, code: str, nonce: str, verifier: str
) -> Profile:
    """Exchange the code and return the validated profile; raises UpstreamError."""
    meta = metadata(provider)
    token = _token_request(
        provider,
        meta["token_endpoint"],
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
    )
    if provider.kind == "github":
        return _github_profile(token.get("access_token", ""))
    claims = validate_id_token(provider, meta, token.get("id_token"), nonce)
    return _oidc_profile(meta, claims, token.get("access_token"))


def _token_request(provider: UpstreamProvider, endpoint: str, form: dict) -> dict:
    """The token request (RFC 6749 §4.1.3) through the outbound guard, with the client
    authenticated by HTTP Basic (§2.3.1: id and secret form-encoded first), or in the body
    for GitHub."""
    secret = providers_service.client_secret(provider)
    headers = {"Accept": "application/json"}
    if provider.kind == "github":
        form = {**form, "client_id": provider.client_id, "client_secret": secret}
    else:
        pair = f"{quote(provider.client_id, safe='')}:{quote(secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    response, token = _request_json("POST", endpoint, data=form, headers=headers)
    if not response.ok or not isinstance(token, dict) or "error" in token:
        raise UpstreamError("token_error", "The identity provider did not accept the sign-in.")
    if not isinstance(token.get("access_token"), str):
        raise UpstreamError("token_error", "The identity provider did not accept the sign-in.")
    return token


def _jwk_for(meta: dict, kid: str | None):
    def load(refresh=False):
        return _cached(
            f"jwks:{meta['jwks_uri']}", lambda: _get_json(meta["jwks_uri"]), refresh=refresh
        )

    for refresh in (False, True):  # a key we do not know yet: the provider rotated, refetch
        try:
            keys = jwt.PyJWKSet.from_dict(load(refresh)).keys
        except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
            raise UpstreamError("bad_jwks", "The identity provider's keys are unusable.") from exc
        matches = [k for k in keys if kid is None or k.key_id == kid]
        if matches:
            return matches[0]
    raise UpstreamError("unknown_key", "The ID token is signed with an unknown key.")


def validate_id_token(provider: UpstreamProvider, meta: dict, id_token, nonce: str) -> dict:
    """The ID token's claims after every OIDC Core §3.1.3.7 check; raises UpstreamError."""
    if not isinstance(id_token, str) or not id_token:
        raise UpstreamError("no_id_token", "The identity provider sent no ID token.")
    try:
        header = jwt.get_unverified_header(id_token)
        if header.get("alg") not in ALGORITHMS:
            raise UpstreamError("bad_id_token", "The ID token uses an unaccepted algorithm.")
        key = _jwk_for(meta, header.get("kid"))
        claims = jwt.decode(
            id_token,
            key.key,
            algorithms=[header["alg"]],
            audience=provider.client_id,
            leeway=60,
            options={"require": ["iss", "sub", "aud", "exp", "iat"], "verify_iss": False},
        )
    except jwt.PyJWTError as exc:
        raise UpstreamError("bad_id_token", f"The ID token is invalid: {exc}.") from exc
    expected = meta["issuer"]
    if provider.kind == "microsoft":  # multi-tenant: the issuer carries the user's tenant id
        expected = expected.replace("{tenantid}", str(claims.get("tid", "")))
    if claims["iss"] != expected:
        raise UpstreamError("issuer_mismatch", "The ID token comes from another issuer.")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != provider.client_id:
        raise UpstreamError("bad_id_token", "The ID token was issued to another party.")
    if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise UpstreamError("nonce_mismatch", "The ID token does not answer this sign-in.")
    return claims


def _is_true(value) -> bool:
    return value is True or value == "true"


def _oidc_profile(meta: dict, claims: dict, access_token: str | None) -> Profile:
    email, verified, name = claims.get("email"), claims.get("email_verified"), claims.get("name")
    if not email and access_token and meta.get("userinfo_endpoint"):
        info = _get_json(
            meta["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"}
        )
        if isinstance(info, dict) and info.get("sub") == claims["sub"]:  # OIDC Core §5.3.2
            email, verified = info.get("email"), info.get("email_verified")
            name = name or info.get("name")
    return Profile(
        subject=str(claims["sub"]),
        email=email if isinstance(email, str) and email else None,
        email_verified=_is_true(verified),
        name=name if isinstance(name, str) else "",
    )


def _github_profile(access_token: str) -> Profile:
    headers = {
        "Authorization": f"Bearer {access_token}",
        "Accept": "application/vnd.github+json",
    }
    user = _get_json(GITHUB["user_endpoint"], headers=headers)
    emails = _get_json(GITHUB["emails_endpoint"], headers=headers)
    if not isinstance(user, dict) or not user.get("id"):
        raise UpstreamError("bad_response", "GitHub did not say who you are.")
    primary = (
        next((e for e in emails if isinstance(e, dict) and e.get("primary")), None)
        if isinstance(emails, list)
        else None
    )
    return Profile(
        subject=str(user["id"]),
        email=primary.get("email") if primary else None,
        email_verified=bool(primary and _is_true(primary.get("verified"))),
        name=str(user.get("name") or user.get("login") or ""),
    )
