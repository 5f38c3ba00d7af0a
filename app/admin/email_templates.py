"""Email templates in the console: edit per language with a live preview (HTMX),
"send me a test", and restoring the built-in wording."""

from __future__ import annotations

from flask import request
from flask_login import current_user
from jinja2 import TemplateError

from app.admin.access import console_tenant
from app.admin.common import done
from app.admin.common import errors_of
from app.admin.common import respond
from app.admin.common import tenant_route
from app.i18n import NAMES as LANGUAGE_NAMES
from app.services import mail_templates
from app.services.errors import ServiceError
from app.services.mail import send_mail
from app.services.settings import get_settings

TITLES = {
    "verify_email": "Confirm email address",
    "reset_password": "Reset password",
    "invitation": "Invitation",
    "login_code": "Sign-in code or link",
}


def _locale() -> str:
    tenant = console_tenant()
    locale = request.values.get("locale") or get_settings(tenant)["default_locale"]
    return locale if locale in LANGUAGE_NAMES else "en"


def _submitted() -> dict:
    return {part: request.form.get(part, "") for part in mail_templates.PARTS}


def _preview(name: str, parts: dict) -> dict:
    try:
        return {
            "preview": mail_templates.render_parts(
                console_tenant(), name, parts, mail_templates.SAMPLES
            )
        }
    except TemplateError as exc:
        return {"preview_error": str(exc.message or exc)}


@tenant_route("/email-templates")
def email_templates_index():
    tenant = console_tenant()
    locales = get_settings(tenant)["locales"]
    rows = [
        (
            name,
            TITLES[name],
            [(loc, mail_templates.get_custom(tenant, name, loc)) for loc in locales],
        )
        for name in mail_templates.NAMES
    ]
    return respond("admin/email_templates.html", rows=rows, languages=LANGUAGE_NAMES)


def _edit_page(name: str, locale: str, *, template=None, errors=None, status=200, **extra):
    template = template or mail_templates.to_dict(console_tenant(), name, locale)
    return respond(
        "admin/email_template.html",
        status=status,
        name=name,
        title=TITLES[name],
        locale=locale,
        languages=LANGUAGE_NAMES,
        locales=get_settings(console_tenant())["locales"],
        t=template,
        variables=[*mail_templates.COMMON, *mail_templates.VARIABLES[name]],
        errors=errors or {},
        **_preview(name, template),
        **extra,
    )


def _name(template_name: str) -> str:
    if template_name not in mail_templates.NAMES:
        from werkzeug.exceptions import NotFound

        raise NotFound()
    return template_name


@tenant_route("/email-templates/<template_name>", methods=["GET", "POST"])
def email_template_edit(template_name: str):
    name, locale = _name(template_name), _locale()
    if request.method == "GET":
        return _edit_page(name, locale)
    try:
        mail_templates.save(console_tenant(), name, locale, _submitted())
    except ServiceError as exc:
        submitted = {**mail_templates.to_dict(console_tenant(), name, locale), **_submitted()}
        return _edit_page(name, locale, template=submitted, errors=errors_of(exc), status=422)
    return done("Template saved.", "admin.email_template_edit", template_name=name, locale=locale)


@tenant_route("/email-templates/<template_name>/preview", methods=["POST"])
def email_template_preview(template_name: str):
    name = _name(template_name)
    return respond(
        "admin/_partials/_email_preview.html",
        "admin/_partials/_email_preview.html",
        **_preview(name, _submitted()),
    )


@tenant_route("/email-templates/<template_name>/test", methods=["POST"])
def email_template_test(template_name: str):
    """Send the saved template, with sample values, to the signed-in admin."""
    name, locale = _name(template_name), _locale()
    tenant = console_tenant()
    rendered = mail_templates.render(tenant, name, locale, mail_templates.SAMPLES)
    send_mail(
        tenant, current_user.email, rendered["subject"], rendered["text"], rendered["html"] or None
    )
    return done(
        f"Test sent to {current_user.email}.",
        "admin.email_template_edit",
        template_name=name,
        locale=locale,
    )


@tenant_route("/email-templates/<template_name>/restore", methods=["POST"])
def email_template_restore(template_name: str):
    name, locale = _name(template_name), _locale()
    mail_templates.restore(console_tenant(), name, locale)
    return done(
        "The built-in template applies again.",
        "admin.email_template_edit",
        template_name=name,
        locale=locale,
    )
