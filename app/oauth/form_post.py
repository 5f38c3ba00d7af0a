"""Response modes of the authorization endpoint: ``query`` (RFC 6749 §4.1.2, the default)
and ``form_post`` (OAuth 2.0 Form Post Response Mode): the response's parameters — ``code``
or ``error``, ``state``, and ``iss`` (RFC 9207) — posted to the redirect URI by an
auto-submitting HTML form instead of travelling in its query string.

The form page passes the default Content-Security-Policy (``script-src 'self'``): it is
submitted by a same-origin script, and by its Continue button without JavaScript.
"""

from __future__ import annotations

from urllib.parse import parse_qsl
from urllib.parse import urlsplit

from flask import Response
from flask import render_template

RESPONSE_MODES = ("query", "form_post")


def mode_of(values) -> str | None:
    """The request's ``response_mode`` (``query`` when absent); None when unsupported."""
    raw = values.get("response_mode")
    if raw is None or raw == "":
        return "query"
    return raw if raw in RESPONSE_MODES else None


def render(redirect_uri: str, params: list[tuple[str, str]]) -> Response:
    """The page that posts ``params`` to ``redirect_uri``."""
    body = render_template("oauth/form_post.html", action=redirect_uri, fields=params)
    response = Response(body, status=200, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def from_redirect(response: Response, redirect_uri: str) -> Response:
    """Authlib's 302 to ``redirect_uri`` (with ``code``, ``state`` and ``iss`` appended to
    its query) as the same response posted by a form."""
    location = response.headers.get("Location")
    if response.status_code != 302 or not location:
        return response
    own = parse_qsl(urlsplit(redirect_uri).query, keep_blank_values=True)
    sent = parse_qsl(urlsplit(location).query, keep_blank_values=True)
    return render(redirect_uri, sent[len(own) :])  # the parameters appended to it
