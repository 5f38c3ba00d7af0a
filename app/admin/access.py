"""Who may enter the console, and which tenant a console request is about.

- Anonymous visitors are sent to the hosted login with ``next`` set.
- The request's tenant must list the user under its ``admin`` role, else 403.
- On the system tenant those admins are instance operators: they also see the instance
  console (:func:`operator_only`) and may manage any tenant through
  ``/admin/tenants/<tenant_slug>/...`` — the same views a tenant admin uses for their own
  tenant at ``/admin/...``. Anyone else asking for those URLs gets a 404, so a tenant
  admin learns nothing about the instance.
- Sensitive actions (:func:`recent_auth`) need a sign-in within :data:`RECENT_AUTH`.
"""

from __future__ import annotations

from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode

from flask import abort
from flask import current_app
from flask import g
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user

from app import rls
from app.admin import bp
from app.models import Tenant
from app.models.base import utcnow
from app.services import mfa
from app.services import roles as roles_service
from app.services import tenants as tenants_service
from app.tenancy import current_tenant
from app.tenancy import is_same_origin_path
from app.web.session import current_session

RECENT_AUTH = timedelta(minutes=10)


def console_tenant() -> Tenant:
    """The tenant this console request manages (the request's own, or one an operator opened)."""
    return g.console_tenant


def is_operator() -> bool:
    """True when the signed-in user is an instance operator (system tenant admin)."""
    return bool(g.get("is_operator"))


def login_url(next_path: str, *, prompt: str | None = None) -> str:
    """The hosted login page of this origin, returning to ``next_path`` afterwards."""
    params = {"next": next_path if is_same_origin_path(next_path) else url_for("admin.index")}
    if prompt:
        params["prompt"] = prompt
    if "auth.login" in current_app.view_functions:
        return url_for("auth.login", **params)
    return f"{request.script_root}/login?{urlencode(params)}"


def hx_redirect(location: str):
    """A redirect that also works for HTMX requests (which would otherwise swap the target)."""
    if request.headers.get("HX-Request"):
        response = current_app.response_class(status=204)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location)


@bp.url_value_preprocessor
def _pull_target(endpoint, values):
    g.console_slug = (values or {}).pop("tenant_slug", None)


@bp.url_defaults
def _keep_target(endpoint, values):
    """Links inside an opened tenant stay inside it (Flask's URL processor pattern)."""
    slug = g.get("console_slug")
    if (
        slug
        and "tenant_slug" not in values
        and current_app.url_map.is_endpoint_expecting(endpoint, "tenant_slug")
    ):
        values["tenant_slug"] = slug


@bp.before_request
def _guard():
    if not current_user.is_authenticated:
        return hx_redirect(login_url(request.full_path.rstrip("?")))
    home = current_tenant._get_current_object()
    if not roles_service.has_tenant_role(home, current_user, "admin"):
        abort(403, "You need the admin role of this workspace to use the admin console.")
    g.is_operator = home.is_system
    if home.is_system:  # the instance console reaches every tenant (app/rls.py)
        rls.bypass(f"instance console: {current_user.id}")
    session = current_session()
    # The tenant's MFA policy applies to the console too (a session without a factor
    # signs in again, through the second-factor step).
    if mfa.mfa_required(home, current_user) and not mfa.session_satisfies_mfa(session):
        return hx_redirect(login_url(request.full_path.rstrip("?"), prompt="login"))
    if g.console_slug:
        if not home.is_system:
            abort(404)
        g.console_tenant = tenants_service.get_tenant(g.console_slug)  # NotFound -> 404
    else:
        g.console_tenant = home
    return None


def operator_only(view):
    """Instance-console views: a 404 for everyone but instance operators."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not is_operator():
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def has_recent_auth() -> bool:
    session = current_session()
    return session is not None and utcnow() - session.auth_time <= RECENT_AUTH


def recent_auth(back_endpoint: str):
    """Sensitive actions: without a sign-in in the last 10 minutes, sign in again first.

    ``back_endpoint`` is the page to return to after the fresh sign-in (the action itself
    is a POST, which a redirect cannot replay).
    """

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not has_recent_auth():
                back = url_for(back_endpoint, **_back_values(back_endpoint, kwargs))
                return hx_redirect(login_url(back, prompt="login"))
            return view(*args, **kwargs)

        return wrapped

    return decorator


def _back_values(endpoint: str, kwargs: dict) -> dict:
    rules = current_app.url_map.iter_rules(endpoint)
    wanted = set().union(*(rule.arguments for rule in rules)) - {"tenant_slug"}
    return {k: v for k, v in kwargs.items() if k in wanted}
