"""Languages of the hosted pages and mail (Flask-Babel; catalogues in app/translations).

The language of a request, limited to the tenant's ``locales`` (settings), is the first of:
1. the OIDC ``ui_locales`` parameter (OIDC Core §3.1.2.1), on this request or on the
   authorization request carried in ``next``;
2. the language switcher's choice, remembered in the ``gh_lang`` cookie;
3. the browser's ``Accept-Language``;
4. the tenant's ``default_locale``.

Settings and ``<html lang>`` use BCP 47 tags (``pt-BR``); catalogues use ``pt_BR``.
"""

from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from flask import Flask
from flask import g
from flask import has_request_context
from flask import request
from flask_babel import Babel
from flask_babel import force_locale
from flask_babel import get_locale
from flask_babel import gettext
from flask_babel import ngettext

from app.tenancy import reading_tenant

LOCALES = ("en", "es", "fr", "de", "pt-BR")  # BCP 47, as in settings
COOKIE = "gh_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
NAMES = {
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "de": "Deutsch",
    "pt-BR": "Português (Brasil)",
}


def N_(message: str) -> str:  # noqa: N802 - the usual name of the gettext no-op marker
    """Mark a message for extraction; it is translated where it is shown."""
    return message


# What the error pages show (``errors/_error.html`` translates its title and text).
ERROR_TEXTS = (
    N_("Bad Request"),
    N_("Forbidden"),
    N_("Not Found"),
    N_("Method Not Allowed"),
    N_("Too Many Requests"),
    N_("Internal Server Error"),
    N_("Request Entity Too Large"),
    N_("The browser (or proxy) sent a request that this server could not understand."),
    N_(
        "You don't have the permission to access the requested resource. It is either "
        "read-protected or not readable by the server."
    ),
    N_(
        "The requested URL was not found on the server. If you entered the URL manually "
        "please check your spelling and try again."
    ),
    N_("The method is not allowed for the requested URL."),
    N_(
        "The server encountered an internal error and was unable to complete your request. "
        "Either the server is overloaded or there is an error in the application."
    ),
    N_("The data value transmitted exceeds the capacity limit."),
    N_("There is no workspace at this address."),
    N_("This server does not answer for that host name."),
    N_("This workspace is suspended. Contact its administrator."),
    N_("Too many attempts. Wait a little and try again."),
)


def to_babel(tag: str) -> str:
    return tag.replace("-", "_")


def to_tag(locale) -> str:
    return str(locale).replace("_", "-")


def tenant_locales(tenant) -> tuple[list[str], str]:
    """The tenant's languages and its default (settings ``locales``, ``default_locale``)."""
    from app.services.settings import read_settings

    if tenant is None:
        return list(LOCALES), "en"
    settings = read_settings(tenant)
    allowed = [code for code in settings["locales"] if code in LOCALES] or ["en"]
    default = settings["default_locale"]
    return allowed, default if default in allowed else allowed[0]


def _match(candidates, allowed: list[str]) -> str | None:
    """The first candidate tag that one of ``allowed`` serves (``es-MX`` → ``es``;
    ``pt`` → ``pt-BR``)."""
    lowered = {code.lower(): code for code in allowed}
    for raw in candidates:
        tag = (raw or "").strip().replace("_", "-").lower()
        if not tag or len(tag) > 35:
            continue
        if tag in lowered:
            return lowered[tag]
        base = tag.split("-", 1)[0]
        for code in allowed:
            if code.lower().split("-", 1)[0] == base:
                return code
    return None


def _ui_locales() -> list[str]:
    values = request.args.get("ui_locales", "")
    if not values:
        nested = request.args.get("next") or request.form.get("next") or ""
        if "ui_locales" in nested:
            values = " ".join(parse_qs(urlsplit(nested).query).get("ui_locales", []))
    return values.split()[:10]


def select_locale() -> str:
    """Flask-Babel's locale selector (see the module docstring for the order)."""
    if not has_request_context():
        return "en"
    cached = g.get("_gh_locale")
    if cached:
        return cached
    allowed, default = tenant_locales(reading_tenant())
    accept = [lang for lang, _q in request.accept_languages][:20]
    choice = (
        _match(_ui_locales(), allowed)
        or _match([request.cookies.get(COOKIE, "")], allowed)
        or _match(accept, allowed)
        or default
    )
    g._gh_locale = to_babel(choice)
    return g._gh_locale


def current_tag() -> str:
    """The request's language as a BCP 47 tag, for ``<html lang>``."""
    return to_tag(get_locale() or "en")


@contextmanager
def mail_locale(tenant):
    """Render mail in the language of the request that sends it when it is this tenant's,
    else in the tenant's ``default_locale`` (the worker, the admin API)."""
    same = has_request_context() and getattr(reading_tenant(), "id", None) == tenant.id
    if same:
        yield
        return
    _allowed, default = tenant_locales(tenant)
    with force_locale(to_babel(default)):
        yield


def install_gettext(env) -> None:
    """Give a (sandboxed) Jinja environment Flask-Babel's gettext, newstyle."""
    env.install_gettext_callables(gettext=gettext, ngettext=ngettext, newstyle=True)


def switcher_options() -> list[tuple[str, str]]:
    allowed, _default = tenant_locales(reading_tenant())
    return [(code, NAMES[code]) for code in allowed]


def language_return() -> str:
    """Where the switcher goes back to: this page, with its query only when every
    ``next`` in it stays on this origin (a foreign one is never echoed into the page)."""
    from app.tenancy import is_same_origin_path

    path = request.script_root + request.path
    nexts = request.args.getlist("next")
    if request.query_string and all(is_same_origin_path(n) for n in nexts):
        return path + "?" + request.query_string.decode("latin-1")
    return path


def init_app(app: Flask) -> None:
    from pathlib import Path

    directory = str(Path(__file__).resolve().parent / "translations")
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    Babel(app, locale_selector=select_locale, default_translation_directories=directory)

    @app.context_processor
    def _i18n_context():
        return {
            "html_lang": current_tag,
            "language_options": switcher_options,
            "language_return": language_return,
        }
