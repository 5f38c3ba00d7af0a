"""The tenant's landing page and the language switcher."""

from __future__ import annotations

from flask import Blueprint
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    return render_template("web/home.html")


@bp.post("/language")
def set_language():
    """The language switcher: remember the choice (one of the tenant's locales) in a
    cookie and go back to the page (a same-origin path only)."""
    from app.auth.flow import safe_next
    from app.i18n import COOKIE
    from app.i18n import COOKIE_MAX_AGE
    from app.i18n import tenant_locales
    from app.tenancy import current_tenant

    allowed, _default = tenant_locales(current_tenant)
    response = redirect(safe_next(request.form.get("return_to")) or url_for("auth.login"))
    choice = request.form.get("lang", "")
    if choice in allowed:
        response.set_cookie(
            COOKIE,
            choice,
            max_age=COOKIE_MAX_AGE,
            path=request.script_root or "/",
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
        )
    return response
