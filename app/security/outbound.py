"""The one guard for every server-side fetch: upstream providers, JWKS, webhooks,
back-channel logout (DESIGN §5 ``OUTBOUND_ALLOW_PRIVATE``; OWASP SSRF prevention).

- Only ``http`` and ``https`` URLs with a host; no credentials in the URL.
- With ``allow_private=False`` the host is resolved and every address must be public:
  loopback, private, link-local, multicast, reserved and unspecified addresses are
  refused. The check happens at connect time, on the address actually dialled, so a DNS
  answer that changes between a check and the fetch (rebinding) cannot slip through.
- Redirects are followed by hand (at most ``max_redirects``), each hop checked again.
- Every network failure answers the same ``OutboundError`` message, so a caller cannot
  tell an open internal port from a closed one.
- Responses are read up to ``max_bytes``; more is an error, not a truncation.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.util import connection as urllib3_connection

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 1024 * 1024
FAILURE_MESSAGE = "The remote server could not be reached."


class OutboundError(Exception):
    """A fetch was refused or failed. ``reason`` is a short code for logs, never for users."""

    def __init__(self, reason: str, message: str = FAILURE_MESSAGE):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class OutboundResponse:
    """What a guarded fetch answers: status, headers, the (bounded) body and final URL."""

    status_code: int
    headers: dict[str, str]
    content: bytes
    url: str
    elapsed_ms: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self):
        import json

        return json.loads(self.content)


def is_public_address(address: str) -> bool:
    """True when ``address`` is a globally routable unicast address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_url(url: str, *, allow_private: bool, resolve: bool = True) -> str:
    """Validate a URL for server-side use (save time); answer a short error or raise nothing.

    Raises ``OutboundError`` with a user-facing message when the URL is not allowed.
    """
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise OutboundError("bad_url", "must be an absolute http(s) URL.") from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise OutboundError("bad_url", "must be an absolute http(s) URL.")
    if parts.username or parts.password:
        raise OutboundError("bad_url", "must not contain credentials.")
    if allow_private or not resolve:
        return url
    for address in _resolve(parts.hostname, parts.port or _default_port(parts.scheme)):
        if not is_public_address(address):
            raise OutboundError(
                "private_address", "must resolve to a public address (not a private network)."
            )
    return url


def fetch(
    method: str,
    url: str,
    *,
    allow_private: bool,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_redirects: int = 3,
    **kwargs,
) -> OutboundResponse:
    """Fetch ``url`` under the guard; ``kwargs`` go to ``requests`` (headers, data, auth…)."""
    session = guarded_session(allow_private=allow_private)
    try:
        for _ in range(max_redirects + 1):
            check_url(url, allow_private=True)  # shape only; addresses are checked at connect
            try:
                with session.request(
                    method,
                    url,
                    timeout=timeout,
                    allow_redirects=False,
                    stream=True,
                    **kwargs,
                ) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        if response.status_code in (301, 302, 303) and method != "HEAD":
                            method, kwargs = "GET", _without_body(kwargs)
                        continue
                    body = _read_bounded(response, max_bytes)
                    return OutboundResponse(
                        status_code=response.status_code,
                        headers=dict(response.headers),
                        content=body,
                        url=url,
                        elapsed_ms=response.elapsed.total_seconds() * 1000,
                    )
            except OutboundError:
                raise
            except (requests.RequestException, OSError, ValueError) as exc:
                refused = _refusal_in(exc)
                raise OutboundError(refused.reason if refused else "network") from exc
        raise OutboundError("too_many_redirects")
    finally:
        session.close()


def guarded_session(*, allow_private: bool) -> requests.Session:
    """A ``requests.Session`` whose every connection is checked against the guard."""
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment may bypass the check
    adapter = _GuardedAdapter(allow_private=allow_private)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# -- internals ---------------------------------------------------------------------------


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise OutboundError("dns", "must name a host that resolves.") from exc
    return [info[4][0] for info in infos]


def _without_body(kwargs: dict) -> dict:
    return {k: v for k, v in kwargs.items() if k not in {"data", "json", "files"}}


def _read_bounded(response: requests.Response, max_bytes: int) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=16384):
        size += len(chunk)
        if size > max_bytes:
            raise OutboundError("too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _refusal_in(exc: BaseException) -> OutboundError | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OutboundError):
            return exc
        for arg in getattr(exc, "args", ()):
            if isinstance(arg, OutboundError):
                return arg
            inner = getattr(arg, "reason", None)
            if isinstance(inner, OutboundError):
                return inner
        exc = exc.__cause__ or exc.__context__
    return None


class _GuardMixin:
    allow_private = True

    def _new_conn(self):  # urllib3 calls this for every new socket (HTTP and HTTPS)
        host, port = self._dns_host, self.port
        last_error: OSError | None = None
        for address in _resolve(host, port):
            if not self.allow_private and not is_public_address(address):
                raise OutboundError("private_address")
            try:
                return urllib3_connection.create_connection(
                    (address, port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except OSError as exc:
                last_error = exc
        raise OutboundError("network") from last_error


def _connection_classes(allow_private: bool):
    http = type("GuardedHTTPConnection", (_GuardMixin, HTTPConnection), {})
    https = type("GuardedHTTPSConnection", (_GuardMixin, HTTPSConnection), {})
    http.allow_private = https.allow_private = allow_private
    return http, https


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, *, allow_private: bool):
        self._http_cls, self._https_cls = _connection_classes(allow_private)
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        http_pool = type("GuardedHTTPPool", (HTTPConnectionPool,), {})
        https_pool = type("GuardedHTTPSPool", (HTTPSConnectionPool,), {})
        http_pool.ConnectionCls = self._http_cls
        https_pool.ConnectionCls = self._https_cls
        self.poolmanager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}
        self.poolmanager.key_fn_by_scheme = dict(self.poolmanager.key_fn_by_scheme)


def allow_private() -> bool:
    """The instance's ``OUTBOUND_ALLOW_PRIVATE`` setting (needs an app context)."""
    from flask import current_app

    return bool(current_app.config.get("OUTBOUND_ALLOW_PRIVATE", False))
