"""The mail a tenant sends (#20): ``verify_email``, ``reset_password``, ``invitation`` and
``login_code``. Each is a ``subject``, a ``text`` body and an optional ``html`` body,
rendered in a sandboxed Jinja environment (``jinja2.sandbox``: no access to Python
internals, no imports; HTML autoescaped) from the documented variables only
(:data:`VARIABLES`; an unknown variable is an error).

The built-in templates live in ``templates/mail/`` and are translated through the
message catalogues. A tenant may replace one per language (:func:`save`): it is rendered
with sample values before it is stored, so a template that cannot render is refused at
save time, never at send time.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from pathlib import Path

from jinja2 import FileSystemLoader
from jinja2 import StrictUndefined
from jinja2 import TemplateError
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from app.extensions import db
from app.models import EmailTemplate
from app.models import Tenant
from app.models.base import utcnow
from app.services import audit
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.services.mail import send_mail
from app.services.settings import LOCALES
from app.services.settings import display_name
from app.services.settings import get_settings
from app.tenancy import scope

NAMES = ("verify_email", "reset_password", "invitation", "login_code")
PARTS = ("subject", "text", "html")
MAX_PART = {"subject": 1000, "text": 20_000, "html": 100_000}
COMMON = ("tenant_name", "email")
# The variables each template may use, besides tenant_name and email (README).
VARIABLES = {
    "verify_email": ("name", "link", "hours"),
    "reset_password": ("name", "link", "hours"),
    "invitation": ("link", "expires", "org_name"),
    "login_code": ("name", "code", "link", "minutes"),
}
SAMPLES = {
    "tenant_name": "Acme",
    "email": "ada@example.com",
    "name": "Ada Lovelace",
    "link": "https://login.example.com/link/sample",
    "hours": 48,
    "minutes": 10,
    "code": "123456",
    "expires": datetime(2030, 1, 31, 12, 0, tzinfo=UTC),
    "org_name": "Engineering",
}

# A tenant admin writes these, and admins of one tenant must not be able to exhaust the
# instance: no loops, macros or includes (the variables are plain values), no ``*`` on
# text and no ``**``, and only filters whose output stays about as long as their input.
# Rendering then costs at most about the size of the template (itself size-limited).
FILTERS = (
    "capitalize", "d", "default", "e", "escape", "lower", "striptags", "title", "trim",
    "truncate", "upper", "datetime", "number",
)  # fmt: skip
FORBIDDEN_NODES = (
    nodes.For, nodes.Macro, nodes.CallBlock, nodes.Call, nodes.Include, nodes.Import,
    nodes.FromImport, nodes.Extends, nodes.Block, nodes.FilterBlock, nodes.With,
)  # fmt: skip


class MailSandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator, left, right):
        if (
            operator == "**"
            or isinstance(left, str | list | tuple)
            or isinstance(right, str | list | tuple)
        ):
            raise SecurityError(f"the operator {operator} is not allowed here")
        return super().call_binop(context, operator, left, right)


def check_source(source: str) -> None:
    """Refuse what a mail template never needs (raises jinja2.TemplateError)."""
    tree = environment().parse(source)
    for node in tree.find_all(FORBIDDEN_NODES):
        if isinstance(node, nodes.Call) and _is_gettext_call(node):
            continue
        raise SecurityError(f"{type(node).__name__.lower()} is not allowed in mail templates")
    for node in tree.find_all(nodes.Filter):
        if node.name not in FILTERS:
            raise SecurityError(f"the filter {node.name} is not allowed here")


def _is_gettext_call(node) -> bool:
    return isinstance(node.node, nodes.Name) and node.node.name in ("_", "gettext", "ngettext")


_ENVS: dict[bool, SandboxedEnvironment] = {}


def environment(html: bool = False) -> SandboxedEnvironment:
    """The sandbox every mail template renders in (``html``: with autoescaping)."""
    env = _ENVS.get(html)
    if env is None:
        from flask_babel import format_datetime
        from flask_babel import format_decimal

        from app import _shipped
        from app.i18n import install_gettext

        env = MailSandbox(
            loader=FileSystemLoader(str(Path(_shipped("templates")) / "mail")),
            undefined=StrictUndefined,
            autoescape=html,
            extensions=["jinja2.ext.i18n"],
            keep_trailing_newline=True,
        )
        env.globals.clear()  # no range(), lipsum(), dict(), ...
        install_gettext(env)
        # Dates and numbers in the recipient's language (CLDR, through Flask-Babel).
        env.filters["datetime"] = lambda value, style="medium": format_datetime(value, style)
        env.filters["number"] = format_decimal
        env.filters = {name: env.filters[name] for name in FILTERS}
        _ENVS[html] = env
    return env


def _context(tenant: Tenant, name: str, values: dict) -> dict:
    context = {key: values.get(key, "") for key in (*VARIABLES[name], *COMMON)}
    context["tenant_name"] = context["tenant_name"] or display_name(tenant)
    return context


def _check_name(name: str) -> None:
    if name not in NAMES:
        raise NotFound("No such email template.")


def _check_locale(locale: str) -> None:
    if locale not in LOCALES:
        raise ValidationFailed({"locale": f"must be one of: {', '.join(LOCALES)}"})


def get_custom(tenant: Tenant, name: str, locale: str) -> EmailTemplate | None:
    return scope(tenant).first(
        EmailTemplate, EmailTemplate.name == name, EmailTemplate.locale == locale
    )


def builtin_source(name: str) -> dict[str, str]:
    """The built-in template's source (Jinja with ``{% trans %}``), to start from."""
    loader = environment().loader
    source = {}
    for part in ("subject", "text"):
        source[part] = loader.get_source(environment(), f"{name}.{part}.txt")[0]
    source["html"] = ""
    return source


def render_parts(tenant: Tenant, name: str, parts: dict, values: dict) -> dict[str, str]:
    """Render ``parts`` (sources) with ``values``; raises jinja2.TemplateError."""
    context = _context(tenant, name, values)
    out = {}
    for part in PARTS:
        source = parts.get(part) or ""
        if not source:
            out[part] = ""
            continue
        check_source(source)
        out[part] = environment(part == "html").from_string(source).render(context)
    out["subject"] = " ".join(out["subject"].split())[:300]
    return out


def render(tenant: Tenant, name: str, locale: str, values: dict) -> dict[str, str]:
    """``{"subject", "text", "html"}`` of template ``name`` for ``tenant`` in ``locale``:
    the tenant's own version when it has one, else the built-in one (translated)."""
    _check_name(name)
    custom = get_custom(tenant, name, locale)
    if custom is not None:
        parts = {"subject": custom.subject, "text": custom.text, "html": custom.html}
        return render_parts(tenant, name, parts, values)
    context = _context(tenant, name, values)
    env = environment()
    out = {p: env.get_template(f"{name}.{p}.txt").render(context) for p in ("subject", "text")}
    out["subject"] = " ".join(out["subject"].split())[:300]
    out["html"] = ""
    return out


def save(tenant: Tenant, name: str, locale: str, data: dict) -> EmailTemplate:
    """Store the tenant's version of ``name`` in ``locale`` after rendering it with
    sample values in the sandbox; raises ValidationFailed (per part) when it cannot."""
    _check_name(name)
    _check_locale(locale)
    errors: dict[str, str] = {}
    parts = {part: data.get(part) or "" for part in PARTS}
    for part, source in parts.items():
        if not isinstance(source, str):
            errors[part] = "must be text"
        elif len(source) > MAX_PART[part]:
            errors[part] = f"at most {MAX_PART[part]} characters"
    for part in ("subject", "text"):
        if not errors.get(part) and not parts[part].strip():
            errors[part] = "is required"
    if not errors:
        for part in PARTS:
            try:
                render_parts(tenant, name, {part: parts[part]}, SAMPLES)
            except TemplateError as exc:
                allowed = ", ".join((*COMMON, *VARIABLES[name]))
                errors[part] = f"does not render: {exc.message or exc}. Variables: {allowed}"
    if errors:
        raise ValidationFailed(errors)
    row = get_custom(tenant, name, locale)
    if row is None:
        row = scope(tenant).add(EmailTemplate(name=name, locale=locale, **parts))
    else:
        row.subject, row.text, row.html = parts["subject"], parts["text"], parts["html"]
        row.updated_at = utcnow()
    db.session.flush()
    audit.record(tenant, "email_template.updated", template=name, locale=locale)
    return row


def restore(tenant: Tenant, name: str, locale: str) -> None:
    """Drop the tenant's version: the built-in one applies again."""
    _check_name(name)
    _check_locale(locale)
    row = get_custom(tenant, name, locale)
    if row is not None:
        db.session.delete(row)
        db.session.flush()
        audit.record(tenant, "email_template.restored", template=name, locale=locale)


def to_dict(tenant: Tenant, name: str, locale: str) -> dict:
    _check_name(name)
    _check_locale(locale)
    row = get_custom(tenant, name, locale)
    source = (
        {"subject": row.subject, "text": row.text, "html": row.html}
        if row
        else builtin_source(name)
    )
    return {
        "name": name,
        "locale": locale,
        "custom": row is not None,
        **source,
        "variables": [*COMMON, *VARIABLES[name]],
        "updated_at": row.updated_at.isoformat() if row else None,
    }


def send(tenant: Tenant, name: str, user, *, suppressed: bool = False, **values) -> None:
    """Render template ``name`` for ``user`` (a User, or an address) and queue it, in the
    language of the page that sends it, else the tenant's default (app.i18n);
    ``suppressed``: rendered and written the same way, but never delivered (a decoy)."""
    from flask_babel import get_locale

    from app.i18n import mail_locale
    from app.i18n import to_tag

    email = user if isinstance(user, str) else user.email
    if not isinstance(user, str):
        values.setdefault("name", user.name or "")
    elif "name" in VARIABLES.get(name, ()):
        values.setdefault("name", "")  # an address alone: no name to greet
    with mail_locale(tenant):
        locale = to_tag(get_locale() or get_settings(tenant)["default_locale"])
        rendered = render(tenant, name, locale, {**values, "email": email})
    send_mail(
        tenant,
        email,
        rendered["subject"],
        rendered["text"],
        rendered["html"] or None,
        suppressed=suppressed,
    )
