"""What the header nav (templates/_nav.html) needs: the Admin link for tenant admins."""

from __future__ import annotations

from flask import current_app
from flask import g
from flask import request
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth import bp
from app.services.authn import signup_refusal
from app.services.password_policy import MAX_LENGTH as PASSWORD_MAX_LENGTH
from app.services.roles import has_tenant_role
from app.services.settings import read_settings
from app.web.page_cache import per_page

# The console's landing endpoint, in the order we look for it.
ADMIN_ENDPOINTS = ("admin.index", "admin.dashboard", "admin.home")


def admin_url() -> str | None:
    """The console link when the signed-in user holds the tenant ``admin`` role."""
    tenant = g.get("tenant")
    if tenant is None or not current_user.is_authenticated:
        return None
    if not has_tenant_role(tenant, current_user, "admin"):
        return None
    for endpoint in ADMIN_ENDPOINTS:
        if endpoint in current_app.view_functions:
            return url_for(endpoint)
    return request.script_root + "/admin/"


def signup_open() -> bool:
    tenant = g.get("tenant")
    if tenant is None:
        return False
    return per_page(tenant, "signup_open", lambda: signup_refusal(tenant) is None)


def password_hint() -> str:
    tenant = g.get("tenant")
    if tenant is None:
        return ""
    return per_page(tenant, "password_hint", lambda: _password_hint(tenant))


def _password_hint(tenant) -> str:
    minimum = read_settings(tenant)["password_min_length"]
    return _(
        "Use %(min)d to %(max)d characters. A few unrelated words make a strong password.",
        min=minimum,
        max=PASSWORD_MAX_LENGTH,
    )


def login_methods() -> list[str]:
    """The tenant's enabled sign-in methods (the pages show only these)."""
    tenant = g.get("tenant")
    return list(read_settings(tenant)["login_methods"]) if tenant is not None else []


@bp.app_context_processor
def _nav_context():
    return {
        "login_methods": login_methods,
        "nav_admin_url": admin_url,
        "nav_signup_open": signup_open,
        "password_hint": password_hint(),
        "has_endpoint": lambda name: name in current_app.view_functions,
    }
