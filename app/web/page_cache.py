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
the CSP nonce.
"""

from __future__ import annotations

from typing import Any

from flask import g
from flask import has_request_context
from flask import render_template
from flask import request
from markupsafe import Markup
from markupsafe import escape

from app.services.settings import get_settings
from app.tenancy import config_of

# Placeholders of the per-request values inside a cached fragment (no rendered text can
# contain a NUL character: Jinja's escaping never produces one, and these are not text).
_CSRF = "\x00csrf\x00"
_RETURN = "\x00return\x00"


def snapshot_of(tenant):
    """The request's snapshot of ``tenant`` when it is what the page shows, else None:
    a row changed in this request (settings or name not yet committed) is not."""
    snapshot = config_of(tenant)
    if snapshot is None or snapshot is tenant:
        return snapshot
    if tenant.name != snapshot.name or tenant.settings != snapshot.columns["settings"]:
        return None
    return snapshot


def settings_of(tenant) -> dict[str, Any]:
    """``get_settings`` for a page: merged once per snapshot instead of per call."""
    snapshot = snapshot_of(tenant)
    return get_settings(snapshot if snapshot is not None else tenant)


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

    tenant = g.get("tenant")
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
    from flask_wtf.csrf import generate_csrf

    return Markup(  # noqa: S704 - a rendered template and escaped values only
        html.replace(_CSRF, str(escape(generate_csrf()))).replace(
            _RETURN, str(escape(language_return()))
        )
    )
