"""Gatehouse: a multi-tenant identity provider."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def create_app(config: dict | None = None) -> Flask:
    """Assemble the app: config, extensions, tenancy, blueprints, errors, CLI."""
    from app import cli
    from app import i18n
    from app import rls
    from app import security
    from app import tenancy
    from app import worker
    from app.config import load_config
    from app.extensions import csrf
    from app.extensions import db
    from app.extensions import init_sqlite_pragmas
    from app.extensions import limiter
    from app.extensions import migrate
    from app.oauth import lean
    from app.observability import metrics as observability
    from app.observability import tracing
    from app.quotas import runtime as quotas
    from app.web import errors
    from app.web import health
    from app.web import hooks
    from app.web import origin
    from app.web import session
    from app.web import templating

    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=_shipped("templates"),
        static_folder=_shipped("static"),
    )
    app.config.update(load_config(app.instance_path))
    if config:
        app.config.update(config)

    init_sqlite_pragmas()
    db.init_app(app)
    rls.init_app(app)
    migrate.init_app(app, db, directory=app.config.get("MIGRATIONS_DIR", _migrations_dir()))
    csrf.init_app(app)
    limiter.init_app(app)
    security.init_app(app)
    worker.init_app(app)
    quotas.init_app(app)  # quota and usage counters: Redis with REDIS_URL, else in-process
    observability.init_app(app)

    hooks.init_app(app)  # request id and actor first: everything after may log or audit
    health.init_app(app)
    lean.init_app(app)  # protocol endpoints answered before Flask routes (inside /t/<slug>)
    tenancy.init_app(app)
    tracing.init_app(app)  # off unless OTEL_EXPORTER_OTLP_ENDPOINT: after tenant resolution
    origin.init_app(app)  # after the tenant is known: its canonical origin is allowed
    session.init_app(app)
    templating.init_app(app)
    i18n.init_app(app)  # Flask-Babel: the request's language (ui_locales, cookie, ...)
    _register_blueprints(app)
    errors.init_app(app)
    _commit_at_the_edge(app)
    cli.init_app(app)

    proxies = int(app.config.get("TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies:
        # Only the client address; Host is checked against configured origins anyway.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    return app


def _shipped(name: str) -> str:
    """``templates``, ``static`` or ``migrations``: inside the package when installed from
    a wheel (setup.py copies them there), else beside it in the checkout."""
    package = Path(__file__).resolve().parent
    inside = package / name
    return str(inside if inside.is_dir() else package.parent / name)


def _migrations_dir() -> str:
    return _shipped("migrations")


def _register_blueprints(app: Flask) -> None:
    from app.account import bp as account_bp
    from app.admin import bp as admin_bp
    from app.api import bp as api_bp
    from app.auth import bp as auth_bp
    from app.device import bp as device_bp
    from app.extensions import csrf
    from app.invitations import bp as invitations_bp
    from app.mfa import bp as mfa_bp
    from app.oauth import bp as oauth_bp
    from app.scim import bp as scim_bp
    from app.sso import bp as sso_bp
    from app.upstream import bp as upstream_bp
    from app.web.dev_mail import bp as dev_mail_bp
    from app.web.pages import bp as pages_bp

    csrf.exempt(api_bp)  # bearer-authenticated JSON, no cookies
    blueprints = (pages_bp, auth_bp, account_bp, invitations_bp, mfa_bp, oauth_bp, admin_bp, api_bp)
    blueprints += (upstream_bp, sso_bp, scim_bp, dev_mail_bp, device_bp)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)


def _commit_at_the_edge(app: Flask) -> None:
    """One commit per request, after the view; an exception rolls back instead."""
    from app.extensions import db
    from app.web import errors
    from app.web import unavailable

    @app.after_request
    def _commit(response):
        # No session, or one that never began a transaction (a warm token request): no
        # COMMIT round trip.
        if db.session.registry.has():
            session = db.session.registry()
            if session.in_transaction() or session.new or session.dirty or session.deleted:
                try:
                    session.commit()
                except Exception as exc:
                    if not unavailable.is_database_unavailable(exc):
                        raise
                    return errors.handle_database_unavailable(exc)  # 503, not a traceback
        return response
