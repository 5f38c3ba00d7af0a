"""What a hosted page shows that does not depend on the request, built once per tenant
snapshot (issue #15: the sign-in pages' CPU).

The tenant's settings, its branding (with the contrast colours) and the language picker
are the same for every request of a tenant in a given language, under a given URL form
(``/t/<slug>`` or its own host): they are memoised on the request's tenant snapshot
(:meth:`app.tenant_snapshot.TenantSnapshot.derived`), keyed by language and script root.
A change of settings or branding bumps the tenant's config version, which replaces the
snapshot, so nothing here outlives the configuration it was built from, and a snapshot
belongs to one tenant, so nothing crosses tenants. A view that has changed the tenant's
row in this request (and not yet committed) is served from the row, never the snapshot.

Per request and never cached: the CSRF token, the return path of the language picker,
the CSP nonce, the ``next`` a page carries.

A blank sign-in form (:func:`blank_form_page`: a GET of /login by an anonymous visitor,
nothing typed, no error, no flashed message) is the same page for everyone but those
per-request values, so the whole page is rendered once per snapshot, language, script
root and whether it carries a ``next``, with slots that each request fills.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app
from flask import g
from flask import has_request_context
from flask import render_template
from flask import request
from flask import session as flask_session
from markupsafe import Markup
from markupsafe import escape
from werkzeug.datastructures import ImmutableMultiDict

from app.tenancy import config_of
from app.tenancy import reading_tenant

# Placeholders of the per-request values inside a cached fragment (no rendered text can
# contain a NUL character: Jinja's escaping never produces one, and these are not text).
_CSRF = "\x00csrf\x00"
_RETURN = "\x00return\x00"
_NONCE = "\x00nonce\x00"
_NEXT = "\x00next\x00"
_URL_SAFE = "!$'()*,/:;?@"  # what Werkzeug's url_for leaves unquoted in a query string


def _in_query(value: str) -> str:
    """``value`` as url_for writes it in a query string (tests/test_signin_pages.py
    checks the prepared page against render_template's, tricky ``next`` values too)."""
    return urlencode({"n": value}, safe=_URL_SAFE)[2:]


_NEXT_IN_URL = _in_query(_NEXT)
# g flag: a page is being rendered with slots (the language picker keeps its own).
_BUILDING = "_gh_page_slots"


def snapshot_of(tenant):
    """The request's snapshot of ``tenant`` when it is what the page shows, else None:
    a row changed in this request (settings or name not yet committed) is not."""
    snapshot = config_of(tenant)
    if snapshot is None or snapshot is tenant:
        return snapshot
    if tenant.name != snapshot.name or tenant.settings != snapshot.columns["settings"]:
        return None
    return snapshot


def per_page(tenant, name: str, build):
    """``build()`` once per (snapshot, language, script root) for the request's tenant;
    every time when the page cannot use the snapshot."""
    snapshot = snapshot_of(tenant) if tenant is not None and has_request_context() else None
    if snapshot is None:
        return build()
    from flask_babel import get_locale

    key = ("page", name, str(get_locale()), request.script_root)
    return snapshot.derived(key, build)


def language_picker() -> Markup:
    """The language switcher (``_language_form.html``): rendered once per tenant snapshot,
    language and script root; the CSRF token and the return path are put in per request."""
    from app.i18n import language_return

    tenant = reading_tenant()
    if tenant is None:
        return Markup("")
    html = per_page(
        tenant,
        "language_picker",
        lambda: render_template(
            "_language_form.html",
            csrf_slot=Markup(_CSRF),  # noqa: S704 - our constant, replaced below
            return_slot=Markup(_RETURN),  # noqa: S704 - likewise
        ),
    )
    if not html.strip():
        return Markup("")
    if g.get(_BUILDING):  # inside blank_form_page's rendering: its slots stay
        return Markup(html)  # noqa: S704 - a rendered template
    from flask_wtf.csrf import generate_csrf

    return Markup(  # noqa: S704 - a rendered template and escaped values only
        html.replace(_CSRF, str(escape(generate_csrf()))).replace(
            _RETURN, str(escape(language_return()))
        )
    )


def blank_form_page(template: str, make_form, next_value: str = ""):
    """``render_template(template, form=make_form())`` for a sign-in form nobody has
    filled in yet (a GET: ``make_form()`` builds it with ``next_value`` as its ``next``):
    rendered once per tenant snapshot, language, script root and whether it carries a
    ``next`` (with slots for the CSRF token, the CSP nonce, ``next`` and the language
    picker's return path), then filled per request, without building the form: on a GET
    it holds nothing but the CSRF token (the one ``generate_csrf`` gives, as the form's
    own field would) and ``next``. Any other case (a signed-in visitor, flashed messages,
    a ``next`` the page would not keep) renders the template as usual."""
    from flask_login import current_user

    tenant = reading_tenant()
    if (
        tenant is None
        or snapshot_of(tenant) is None
        or current_user.is_authenticated
        or "_flashes" in flask_session
        or request.args.getlist("next") != ([next_value] if next_value else [])
    ):
        return render_template(template, form=make_form())
    has_csrf = bool(current_app.config.get("WTF_CSRF_ENABLED", True))  # FlaskForm.Meta.csrf
    key = (template, bool(next_value), has_csrf)
    html = per_page(tenant, key, lambda: _with_slots(template, make_form(), bool(next_value)))
    if html is None:  # this page cannot be prepared (a slot in an unknown form)
        return render_template(template, form=make_form())
    from app.i18n import language_return

    filled = html.replace(_NONCE, str(escape(g.get("csp_nonce", ""))))
    if _CSRF in filled:  # the form's field, or csrf_token() (also with WTF_CSRF_ENABLED off)
        from flask_wtf.csrf import generate_csrf

        filled = filled.replace(_CSRF, str(escape(generate_csrf())))
    if _RETURN in filled:
        filled = filled.replace(_RETURN, str(escape(language_return())))
    if next_value:
        filled = filled.replace(_NEXT_IN_URL, str(escape(_in_query(next_value))))
        filled = filled.replace(_NEXT, str(escape(next_value)))
    return filled


def _with_slots(template: str, form, has_next: bool) -> str | None:
    """The page rendered with slots in place of the per-request values, or None when a
    slot shows up in a form the filling does not know (the page is then never cached)."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    csrf = getattr(form, "csrf_token", None)
    saved = {
        "nonce": g.get("csp_nonce"),
        "token": g.get(field),
        "current": csrf.current_token if csrf is not None else None,
        "next": form.next.data,
        "args": request.__dict__.get("args"),
    }
    args = request.args.to_dict(flat=False)
    args.pop("next", None)
    if has_next:
        args["next"] = [_NEXT]
    g.csp_nonce = _NONCE
    setattr(g, field, _CSRF)
    if csrf is not None:
        csrf.current_token = _CSRF
    form.next.data = _NEXT if has_next else ""
    request.__dict__["args"] = ImmutableMultiDict(args)
    setattr(g, _BUILDING, True)
    try:
        html = render_template(template, form=form)
    finally:
        g.pop(_BUILDING, None)
        request.__dict__.pop("args", None)
        if saved["args"] is not None:
            request.__dict__["args"] = saved["args"]
        form.next.data = saved["next"]
        if csrf is not None:
            csrf.current_token = saved["current"]
        if saved["token"] is None:
            g.pop(field, None)
        else:
            setattr(g, field, saved["token"])
        if saved["nonce"] is None:
            g.pop("csp_nonce", None)
        else:
            g.csp_nonce = saved["nonce"]
    rest = html
    for slot in (_NEXT_IN_URL, _NEXT, _CSRF, _RETURN, _NONCE):
        rest = rest.replace(slot, "")
    if "\x00" in rest or "%00" in rest or "\\u0000" in rest.lower():
        return None
    return html
