"""A JWKS cache per issuer, keyed by ``kid``, for resource servers.

Keys come from the issuer's discovery document (``jwks_uri``), are cached for
``max_age`` seconds, and are fetched again when a token names an unknown ``kid`` —
at most once per ``min_refresh_interval`` per issuer, so a flood of tokens with made-up
key ids cannot turn into a flood of requests to the identity provider. One lock per
issuer means many threads that need the same keys at once cause one fetch, not many.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import requests

Fetch = Callable[[str], dict]

DEFAULT_TIMEOUT = 5.0


class JWKSFetchError(RuntimeError):
    """The issuer's discovery document or key set could not be fetched or read."""


def http_fetch(url: str) -> dict:
    """GET ``url`` and return its JSON body (the default fetch)."""
    try:
        response = requests.get(
            url, timeout=DEFAULT_TIMEOUT, headers={"Accept": "application/json"}
        )
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        raise JWKSFetchError(f"cannot fetch {url}: {exc}") from exc


def loopback_fetch(url: str) -> dict:
    """Like :func:`http_fetch`, but connects to 127.0.0.1 for ``*.localhost`` hosts.

    Browsers resolve ``acme-corp.localhost`` to the loopback address (RFC 6761 §6.3);
    many resolvers used by Python do not. For local development only: the request
    keeps the original ``Host`` header, so the server still sees the tenant's origin.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host != "localhost" and not host.endswith(".localhost"):
        return http_fetch(url)
    port = f":{parts.port}" if parts.port else ""
    target = parts._replace(netloc=f"127.0.0.1{port}").geturl()
    try:
        response = requests.get(
            target,
            timeout=DEFAULT_TIMEOUT,
            headers={"Accept": "application/json", "Host": parts.netloc},
            allow_redirects=False,
        )
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError) as exc:
        raise JWKSFetchError(f"cannot fetch {url}: {exc}") from exc


class _IssuerKeys:
    """The cached key set of one issuer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keys: dict[str, dict] = {}
        self.fetched_at: float | None = None  # last successful fetch
        self.attempted_at: float | None = None  # last attempt, for the rate limit
        self.jwks_uri: str | None = None


class JWKSCache:
    """Public keys of a fixed set of issuers, fetched lazily and cached by ``kid``."""

    def __init__(
        self,
        fetch: Fetch = http_fetch,
        *,
        max_age: float = 600.0,
        min_refresh_interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fetch = fetch
        self.max_age = max_age
        self.min_refresh_interval = min_refresh_interval
        self.clock = clock
        self._issuers: dict[str, _IssuerKeys] = {}
        self._guard = threading.Lock()
        self.fetch_count = 0  # key-set fetches, for metrics and tests

    def _entry(self, issuer: str) -> _IssuerKeys:
        with self._guard:
            return self._issuers.setdefault(issuer, _IssuerKeys())

    def get_key(self, issuer: str, kid: str) -> dict | None:
        """The JWK with ``kid`` published by ``issuer``, or None if it is not published.

        Raises :class:`JWKSFetchError` only when no key set of the issuer was ever read.
        """
        entry = self._entry(issuer)
        with entry.lock:
            now = self.clock()
            may_fetch = (
                entry.attempted_at is None or now - entry.attempted_at >= self.min_refresh_interval
            )
            stale = entry.fetched_at is None or now - entry.fetched_at >= self.max_age
            # An unknown kid may be a freshly rotated key: look again, rate limited.
            if may_fetch and (stale or kid not in entry.keys):
                try:
                    self._refresh(issuer, entry, now)
                except JWKSFetchError:
                    if entry.fetched_at is None:
                        raise
                    # Keep serving the keys we have while the issuer is unreachable.
            elif entry.fetched_at is None:
                raise JWKSFetchError(f"the keys of {issuer} could not be fetched recently")
            return entry.keys.get(kid)

    def _refresh(self, issuer: str, entry: _IssuerKeys, now: float) -> None:
        entry.attempted_at = now
        if entry.jwks_uri is None:
            metadata = self.fetch(issuer.rstrip("/") + "/.well-known/openid-configuration")
            # OIDC Discovery §4.3: the document's issuer must be the one we asked about.
            if not isinstance(metadata, dict) or metadata.get("issuer") != issuer:
                raise JWKSFetchError(f"the discovery document of {issuer} names another issuer")
            if not isinstance(metadata.get("jwks_uri"), str):
                raise JWKSFetchError(f"the discovery document of {issuer} has no jwks_uri")
            entry.jwks_uri = metadata["jwks_uri"]
        document = self.fetch(entry.jwks_uri)
        with self._guard:
            self.fetch_count += 1
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise JWKSFetchError(f"{entry.jwks_uri} is not a JWK Set")
        entry.keys = {
            key["kid"]: key
            for key in keys
            if isinstance(key, dict)
            and isinstance(key.get("kid"), str)
            and key.get("use", "sig") == "sig"
        }
        entry.fetched_at = now
