"""The browser-session cookie: loads ``current_user`` and ``g.browser_session`` for the
request's tenant, and signs in / out.

The cookie is host-only, HttpOnly, SameSite=Lax, and ``__Host-``-prefixed and Secure
outside local development. Its name carries the tenant id, so tenants served under
``/t/<slug>`` on one host keep separate cookies; the lookup is tenant-scoped too, so a
cookie of tenant A never signs anyone in at tenant B.
"""

from __future__ import annotations

from flask import Flask
from flask import current_app
from flask import g
from flask import request
from flask import session as flask_session
from flask.sessions import SecureCookieSessionInterface
from flask_login import AnonymousUserMixin

from app.extensions import login_manager
from app.models import BrowserSession
from app.models import User
from app.services import audit
from app.services import sessions as sessions_service
from app.tenancy import current_tenant
from app.tenancy import reading_tenant
from app.web import tenant_hints


def cookie_name(tenant_id: str) -> str:
    secure = current_app.config["URL_SCHEME"] == "https"
    return f"{'__Host-' if secure else ''}gh_session_{tenant_id.lower()}"


def _load_user_from_cookie(_request) -> User | None:
    tenant = reading_tenant()  # the snapshot until a view has made the row: no row for it
    if tenant is None:
        return None
    if "browser_session" not in g:
        token = request.cookies.get(cookie_name(tenant.id))
        session, user = sessions_service.load_session_and_user(tenant, token)  # one query
        if user is not None and not user.is_active:
            sessions_service.end_session(session, reason="user_disabled")
            session, user = None, None
        g.browser_session = session
        g.session_user = user
        if user is not None:
            audit.act_as("user", user.id)
    return g.get("session_user")


def current_session() -> BrowserSession | None:
    """The request's live browser session (loads it if needed)."""
    _load_user_from_cookie(request)
    return g.get("browser_session")


def sign_in(user: User, amr: list[str], *, write: bool = True) -> BrowserSession:
    """Start a fresh session (a new id: rotation at sign-in) and set its cookie. With
    ``write=False`` its INSERT may be left to the caller's ``audit.record_now``
    (``with_session``), which must come next."""
    old = current_session()
    if old is not None:
        # Rotation at a new sign-in of the same person (prompt=login, step-up) keeps their
        # apps signed in; another person signing in ends the previous one's apps too.
        sessions_service.end_session(old, notify=old.user_id != user.id)
    session, token = sessions_service.start_session(
        current_tenant,
        user,
        amr=amr,
        ip=request.remote_addr or "",
        user_agent=request.headers.get("User-Agent", ""),
        write=write,
    )
    g.browser_session = session
    g.session_user = user
    g.set_session_cookie = token
    rotate_csrf_token()
    audit.act_as("user", user.id)
    return session


def rotate_csrf_token() -> None:
    """A new CSRF secret in Flask's cookie session, so a token learned before a change of
    identity (sign-in, sign-out) is worthless after it; forms rendered from now on carry
    the new one."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    flask_session.pop(field, None)
    g.pop(field, None)


def sign_out(reason: str = "logout") -> BrowserSession | None:
    """End the server-side session (its clients are told over the back channel) and clear
    the cookie."""
    session = current_session()
    if session is not None:
        sessions_service.end_session(session, reason=reason)
    g.browser_session = None
    g.session_user = None
    g.clear_session_cookie = True
    rotate_csrf_token()
    return session


def _write_cookie(response):
    # The snapshot (no SQL), not the row: after a failed transaction the row is expired.
    tenant = g.get("tenant_config") or g.get("tenant")
    if tenant is None:
        return response
    name = cookie_name(tenant.id)
    secure = current_app.config["URL_SCHEME"] == "https"
    token = g.get("set_session_cookie")
    if token:
        response.set_cookie(
            name,
            token,
            httponly=True,
            secure=secure,
            samesite="Lax",
            path="/",
            max_age=int(
                (g.browser_session.expires_at - g.browser_session.auth_time).total_seconds()
            ),
        )
    elif g.get("clear_session_cookie") or (
        request.cookies.get(name) and "browser_session" in g and g.browser_session is None
    ):
        response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="Lax")
    return response


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed cookie session, its serializer built once per secret key and
    fallbacks (Flask builds one for every open and every save: ~3% of a page)."""

    _built: tuple = ((), None)

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        built_for, serializer = self._built
        if built_for != keys:
            serializer = super().get_signing_serializer(app)
            self._built = (keys, serializer)
        return serializer


class Anonymous(AnonymousUserMixin):
    id = None
    email = ""
    name = ""


def init_app(app: Flask) -> None:
    if type(app.session_interface) is SecureCookieSessionInterface:  # Flask's own
        app.session_interface = SessionCookies()
    login_manager.init_app(app)
    login_manager.request_loader(_load_user_from_cookie)
    login_manager.user_loader(lambda _id: None)  # never from Flask's cookie session
    login_manager.anonymous_user = Anonymous
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    app.after_request(_write_cookie)
    tenant_hints.init_app(app)  # the gh_tenants cookie: "my other tenants" on /account
