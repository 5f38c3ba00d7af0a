"""The mail a tenant sends (#20): ``verify_email``, ``reset_password``, ``invitation`` and
``login_code``, each a ``subject`` and a ``text`` body, rendered in a sandboxed Jinja
environment (``jinja2.sandbox``: no attribute access to internals, no imports, autoescape
off for text) from the documented variables only.

The built-in templates live in ``templates/mail/``; their wording is translated through
the message catalogues of the recipient's language (the tenant's ``default_locale``).
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import FileSystemLoader
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from app.models import Tenant
from app.services.mail import send_mail
from app.services.settings import display_name

NAMES = ("verify_email", "reset_password", "invitation", "login_code")
PARTS = ("subject", "text")
# The variables each template may use (every template also gets tenant_name and email).
VARIABLES = {
    "verify_email": ("name", "link", "hours"),
    "reset_password": ("name", "link", "hours"),
    "invitation": ("link", "expires", "org_name"),
    "login_code": ("name", "code", "link", "minutes"),
}
COMMON = ("tenant_name", "email")


def _builtin_dir() -> Path:
    from app import _shipped

    return Path(_shipped("templates")) / "mail"


_ENV: SandboxedEnvironment | None = None


def environment() -> SandboxedEnvironment:
    """The sandbox every mail template renders in (built-in or a tenant's own)."""
    global _ENV
    if _ENV is None:
        env = SandboxedEnvironment(
            loader=FileSystemLoader(str(_builtin_dir())),
            undefined=StrictUndefined,
            autoescape=False,
            extensions=["jinja2.ext.i18n"],
            keep_trailing_newline=True,
        )
        from flask_babel import format_datetime
        from flask_babel import format_decimal

        from app.i18n import install_gettext

        install_gettext(env)
        # Dates and numbers in the recipient's language (CLDR, through Flask-Babel).
        env.filters["datetime"] = lambda value, style="medium": format_datetime(value, style)
        env.filters["number"] = format_decimal
        _ENV = env
    return _ENV


def render(tenant: Tenant, name: str, values: dict) -> dict[str, str]:
    """``{"subject", "text"}`` of template ``name`` for ``tenant``, from ``values``."""
    env = environment()
    context = {key: values.get(key, "") for key in (*VARIABLES[name], *COMMON)}
    context["tenant_name"] = context["tenant_name"] or display_name(tenant)
    out = {}
    for part in PARTS:
        out[part] = env.get_template(f"{name}.{part}.txt").render(context)
    out["subject"] = " ".join(out["subject"].split())[:300]
    return out


def send(tenant: Tenant, name: str, user, **values) -> None:
    """Render template ``name`` for ``user`` (a User, or an address) and queue it."""
    email = user if isinstance(user, str) else user.email
    if not isinstance(user, str):
        values.setdefault("name", user.name or "")
    from app.i18n import mail_locale

    with mail_locale(tenant):
        rendered = render(tenant, name, {**values, "email": email})
    send_mail(tenant, email, rendered["subject"], rendered["text"])
