"""How OAuth errors leave the server: an error PAGE when the client or redirect URI cannot
be trusted (RFC 6749 §4.1.2.1: never redirect there), a redirect with ``error``, ``state``
and ``iss`` (RFC 9207) when they can (or the same posted by a form, for
``response_mode=form_post``), JSON on the back-channel endpoints."""

from __future__ import annotations

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from flask import Response
from flask import json
from flask import redirect
from flask import render_template

from app.oauth import form_post
from app.tenancy import current_tenant
from app.tenancy import issuer_for
from app.tenancy import reading_tenant


class InvalidTargetError(OAuth2Error):
    """RFC 8707 §2: the requested resource is invalid, unknown or not allowed."""

    error = "invalid_target"
    status_code = 400


def error_page(
    description: str,
    *,
    title: str = "This sign-in link is not valid",
    status=400,
    error: str | None = None,
):
    """The page shown instead of redirecting to an untrusted client; ``error``: the OAuth
    error code, shown for the app's developers."""
    body = render_template("oauth/error.html", title=title, description=description, error=error)
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect_to_client(redirect_uri: str, params: dict, response_mode: str = "query"):
    """302 to the client's redirect URI with ``params`` plus ``iss`` (RFC 9207 §2), or the
    same parameters posted by a form (``response_mode=form_post``)."""
    values = [(k, v) for k, v in params.items() if v is not None]
    values.append(("iss", issuer_for(reading_tenant())))
    if response_mode == "form_post":
        return form_post.render(redirect_uri, values)
    response = redirect(add_params_to_uri(redirect_uri, values), code=302)
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect_error(
    redirect_uri: str,
    error: str,
    description: str,
    state: str | None,
    response_mode: str = "query",
):
    return redirect_to_client(
        redirect_uri,
        {"error": error, "error_description": description, "state": state},
        response_mode,
    )


def authorization_error(error: OAuth2Error, state: str | None = None, response_mode="query"):
    """An Authlib error raised while validating an authorization request."""
    if not error.redirect_uri:
        return error_page(error.description or error.error.replace("_", " "), error=error.error)
    return redirect_error(
        error.redirect_uri,
        error.error,
        error.description or None,
        error.state or state,
        response_mode,
    )


def json_error(error: OAuth2Error):
    """Back-channel error as JSON, keeping Authlib's status and WWW-Authenticate."""
    status, body, headers = error()
    if error.error == "missing_authorization":
        # RFC 6750 §3.1: no credentials → a bare challenge, no error code in it.
        body = {"error": "invalid_token", "error_description": "A bearer token is required."}
        headers = [("WWW-Authenticate", f'Bearer realm="{issuer_for(current_tenant)}"')]
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    for name, value in headers:
        if name.lower() == "www-authenticate" and value.lower().startswith("bearer "):
            value = "Bearer " + value[7:]
        if name.lower() != "content-type":
            response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return response
