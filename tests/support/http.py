"""Talking to the app over HTTP the way a browser would: per-tenant hosts, CSRF tokens."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

_CSRF_RE = re.compile(
    r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"'
)


def csrf_from(html: str) -> str | None:
    match = _CSRF_RE.search(html)
    return (match.group(1) or match.group(2)) if match else None


class TenantClient:
    """A test client bound to one tenant origin (host, and optional /t/<slug> prefix).

    Python does not resolve ``*.localhost``, so the tenant is chosen by the Host the
    request carries, exactly as a browser's would.
    """

    def __init__(self, client: FlaskClient, host: str, prefix: str = "", scheme: str = "http"):
        self.client = client
        self.host = host
        self.prefix = prefix
        self.scheme = scheme

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def url(self, path: str) -> str:
        return self.prefix + path

    def open(self, method: str, path: str, **kwargs):
        kwargs.setdefault("base_url", self.base_url)
        return self.client.open(self.url(path), method=method, **kwargs)

    def get(self, path: str, **kwargs):
        return self.open("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.open("POST", path, **kwargs)

    def csrf_token(self, path: str) -> str:
        page = self.get(path)
        token = csrf_from(page.get_data(as_text=True))
        assert token, f"no csrf_token on {path} (status {page.status_code})"
        return token

    def submit(self, path: str, data: dict, *, form_path: str | None = None, **kwargs):
        """GET the form (for its CSRF token), then POST ``data`` to ``path``."""
        data = {"csrf_token": self.csrf_token(form_path or path), **data}
        return self.post(path, data=data, **kwargs)

    def cookie(self, name: str):
        return self.client.get_cookie(name, domain=self.host.split(":")[0])
