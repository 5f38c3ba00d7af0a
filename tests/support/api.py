"""Calling the admin REST API in tests: a bearer-authenticated JSON client."""

from __future__ import annotations

from app.extensions import db

BASE_URL = "http://gatehouse.test"


def create_admin_key(app, tenant=None, name: str = "test") -> str:
    """A new admin API key (instance-wide when ``tenant`` is None); returns the raw key."""
    from app.services import admin_keys

    with app.app_context():
        if tenant is not None:
            tenant = db.session.merge(tenant)
        _key, raw = admin_keys.create_admin_key(tenant, name, created_by="test")
        db.session.commit()
        return raw


class Api:
    """``api.get("/tenants")`` → a response from ``/v2/admin/tenants`` with the key attached."""

    def __init__(self, app, key: str | None, base_url: str = BASE_URL):
        self.client = app.test_client()
        self.key = key
        self.base_url = base_url

    def call(self, method: str, path: str, *, json=None, headers=None, **kwargs):
        headers = dict(headers or {})
        if self.key is not None:
            headers.setdefault("Authorization", f"Bearer {self.key}")
        if not path.startswith("/v2/"):
            path = "/v2/admin" + path
        return self.client.open(
            path, method=method, json=json, headers=headers, base_url=self.base_url, **kwargs
        )

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.call("POST", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.call("PATCH", path, **kwargs)

    def put(self, path, **kwargs):
        return self.call("PUT", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.call("DELETE", path, **kwargs)


def problem_of(response) -> dict:
    """The problem+json body of an error response (asserting its media type)."""
    assert response.mimetype == "application/problem+json", response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == response.status_code
    return body
