"""Template globals: the tenant's branding and small helpers every page uses."""

from __future__ import annotations

from flask import Flask
from flask import current_app
from flask import g

from app.services.settings import get_settings
from app.web import contrast
from app.web.user_agents import describe as describe_user_agent


def _branding() -> dict:
    tenant = g.get("tenant")
    if tenant is None:
        values = {"display_name": "Gatehouse", "logo_url": "", "primary_color": "#4f46e5"}
    else:
        branding = get_settings(tenant)["branding"]
        values = {
            "display_name": branding["display_name"] or tenant.name,
            "logo_url": branding["logo_url"],
            "primary_color": branding["primary_color"],
        }
    color = values["primary_color"]
    # WCAG contrast (app.web.contrast): text on the colour, and the colour as text.
    values["on_primary"] = contrast.text_on(color)
    values["primary_text"] = contrast.readable_on_white(color)
    values["primary_text_dark"] = contrast.readable_on_dark(color)
    return values


def base_origin() -> str:
    """The base host's origin (the system tenant), from configuration, never the request."""
    return f"{current_app.config['URL_SCHEME']}://{current_app.config['BASE_DOMAIN']}"


def init_app(app: Flask) -> None:
    app.add_template_filter(describe_user_agent, "browser_name")
    app.add_template_global(base_origin)
    app.add_template_filter(contrast.text_on, "on_color")
    app.add_template_filter(contrast.readable_on_white, "readable_on_white")

    @app.context_processor
    def _globals():
        return {"branding": _branding()}
