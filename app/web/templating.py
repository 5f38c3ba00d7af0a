"""Template globals: the tenant's branding and small helpers every page uses."""

from __future__ import annotations

from flask import Flask
from flask import current_app
from flask import g

from app.services.settings import get_settings
from app.web.user_agents import describe as describe_user_agent


def _branding() -> dict:
    tenant = g.get("tenant")
    if tenant is None:
        return {"display_name": "Gatehouse", "logo_url": "", "primary_color": "#4f46e5"}
    branding = get_settings(tenant)["branding"]
    return {
        "display_name": branding["display_name"] or tenant.name,
        "logo_url": branding["logo_url"],
        "primary_color": branding["primary_color"],
    }


def base_origin() -> str:
    """The base host's origin (the system tenant), from configuration, never the request."""
    return f"{current_app.config['URL_SCHEME']}://{current_app.config['BASE_DOMAIN']}"


def init_app(app: Flask) -> None:
    app.add_template_filter(describe_user_agent, "browser_name")
    app.add_template_global(base_origin)

    @app.context_processor
    def _globals():
        return {"branding": _branding()}
