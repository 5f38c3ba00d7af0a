"""Adapters from Gatehouse rows to Authlib's model mixins (ClientMixin, AuthorizationCodeMixin,
TokenMixin). The rows stay plain SQLAlchemy models; Authlib only sees these wrappers."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import AuthorizationCodeMixin
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749 import TokenMixin

from app.models import AuthorizationCode
from app.models import Client
from app.services import clients as clients_service

_PORT_RE = re.compile(r":\d{1,5}\Z")


def redirect_uri_matches(registered: str, presented: str, *, native: bool = False) -> bool:
    """Exact string match (RFC 9700 §4.1.3). For a native app (a public client,
    ``native=True``) the port of a loopback URI may vary (RFC 8252 §7.3); nothing else."""
    if presented == registered:
        return True
    if not native:
        return False
    try:
        reg, pre = urlsplit(registered), urlsplit(presented)
        pre.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return False
    if reg.scheme != "http" or not clients_service.is_loopback_host(reg.hostname):
        return False
    if pre.fragment or "#" in presented or "@" in pre.netloc:
        return False
    return (pre.scheme, _PORT_RE.sub("", pre.netloc), pre.path, pre.query) == (
        reg.scheme,
        _PORT_RE.sub("", reg.netloc),
        reg.path,
        reg.query,
    )


class OAuthClient(ClientMixin):
    """A Client row as Authlib expects it."""

    def __init__(self, row: Client):
        self.row = row
        self.id = row.id
        self.client_id = row.id

    def get_client_id(self) -> str:
        return self.row.id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.row.redirect_uris or []
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        # Unknown or unregistered scopes are dropped, not an error (OIDC Core §3.1.2.1).
        allowed = set((self.row.scope or "").split())
        requested = (scope or "").split()
        return " ".join(s for s in dict.fromkeys(requested) if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        native = self.row.is_public
        return any(
            redirect_uri_matches(r, redirect_uri, native=native)
            for r in self.row.redirect_uris or []
        )

    def check_client_secret(self, client_secret: str) -> bool:
        return clients_service.check_client_secret(self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.row.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in (self.row.response_types or ["code"])

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in (self.row.grant_types or [])


class OAuthCode(AuthorizationCodeMixin):
    """An AuthorizationCode row as Authlib (and its OIDC extension) expects it."""

    def __init__(self, row: AuthorizationCode):
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int | None:
        return int(self.row.auth_time.timestamp()) if self.row.auth_time else None

    def get_acr(self) -> str | None:
        return self.row.acr

    def get_amr(self) -> list[str]:
        return list(self.row.amr or [])


class OAuthToken(TokenMixin):
    """A presented token (access JWT claims or a refresh-token row) for RFC 7009/7662."""

    def __init__(self, kind: str, client_id: str, *, claims=None, refresh=None, grant=None):
        self.kind = kind  # "access_token" or "refresh_token"
        self.client_id = client_id
        self.claims = claims or {}
        self.refresh = refresh
        self.grant = grant

    def check_client(self, client) -> bool:
        return client.get_client_id() == self.client_id

    def get_scope(self) -> str:
        if self.grant is not None:
            return self.grant.scope
        return self.claims.get("scope", "")

    def get_expires_in(self) -> int:
        return 0

    def is_expired(self) -> bool:
        return False  # checked when the token is looked up

    def is_revoked(self) -> bool:
        return False  # likewise
