"""Template globals: the tenant's branding and small helpers every page uses."""

from __future__ import annotations

from types import MappingProxyType

from flask import Flask
from flask import current_app
from flask import g
from flask import url_for

from app.services.settings import read_settings
from app.web import contrast
from app.web.page_cache import language_picker
from app.web.page_cache import per_page
from app.web.user_agents import describe as describe_user_agent


def _uploaded_logo_url(tenant) -> str:
    """The uploaded logo's URL (it takes precedence over ``branding.logo_url``); looked
    up once per tenant snapshot, which a logo change replaces (a config version bump)."""
    from app.services.logos import logo_info
    from app.services.logos import logo_path
    from app.tenancy import config_of

    snapshot = config_of(tenant)
    if snapshot is not None:
        info = snapshot.derived("logo", lambda: logo_info(tenant.id))
    else:
        info = logo_info(tenant.id)
    return url_for("pages.home") + logo_path(*info)[1:] if info else ""


def _branding() -> MappingProxyType:
    """The page's branding: once per tenant snapshot (app/web/page_cache.py)."""
    tenant = g.get("tenant")
    if tenant is None:
        return _branding_of(None)
    return per_page(tenant, "branding", lambda: _branding_of(tenant))


def _branding_of(tenant) -> MappingProxyType:
    if tenant is None:
        values = {"display_name": "Gatehouse", "logo_url": "", "primary_color": "#4f46e5"}
    else:
        branding = read_settings(tenant)["branding"]
        values = {
            "display_name": branding["display_name"] or tenant.name,
            "logo_url": _uploaded_logo_url(tenant) or branding["logo_url"],
            "primary_color": branding["primary_color"],
        }
    color = values["primary_color"]
    # WCAG contrast (app.web.contrast): text on the colour, and the colour as text.
    values["on_primary"] = contrast.text_on(color)
    values["primary_text"] = contrast.readable_on_white(color)
    values["primary_text_dark"] = contrast.readable_on_dark(color)
    return MappingProxyType(values)  # shared by the snapshot's pages: read only


def base_origin() -> str:
    """The base host's origin (the system tenant), from configuration, never the request."""
    return f"{current_app.config['URL_SCHEME']}://{current_app.config['BASE_DOMAIN']}"


def init_app(app: Flask) -> None:
    app.add_template_filter(describe_user_agent, "browser_name")
    app.add_template_global(base_origin)
    app.add_template_global(language_picker)
    app.add_template_filter(contrast.text_on, "on_color")
    app.add_template_filter(contrast.readable_on_white, "readable_on_white")

    @app.context_processor
    def _globals():
        return {"branding": _branding()}
