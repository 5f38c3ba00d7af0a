"""Signing in through the hosted pages, as a browser would."""

from __future__ import annotations


def sign_in(tenant_client, email: str, password: str):
    """POST the hosted /login form; asserts that it signed the person in."""
    response = tenant_client.submit("/login", {"email": email, "password": password})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:2000]
    return response
