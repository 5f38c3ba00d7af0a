"""Shared plumbing of the console views: routes registered for both console forms, full
page or HTMX partial, the post/redirect/get answer of an action, form errors, paging."""

from __future__ import annotations

from flask import current_app
from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from app.admin import bp
from app.extensions import db
from app.services.errors import ServiceError

PAGE_SIZE = 25


def tenant_route(rule: str, endpoint: str | None = None, **options):
    """Register a tenant view at ``/admin<rule>`` and ``/admin/tenants/<slug><rule>``.

    The first is a tenant admin's own console; the second lets an instance operator
    manage any tenant with the very same view (see ``access.console_tenant``).
    """

    def decorator(view):
        name = endpoint or view.__name__
        bp.add_url_rule(rule, name, view, **options)
        bp.add_url_rule(f"/tenants/<tenant_slug>{rule}".rstrip("/") or "/", name, view, **options)
        return view

    return decorator


def is_htmx() -> bool:
    """An HTMX swap (not a history restore, which needs the whole page)."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


def respond(page: str, partial: str | None = None, status: int = 200, **context):
    """The full page, or only ``partial`` when HTMX asked for a swap."""
    template = partial if partial and is_htmx() else page
    return render_template(template, **context), status


def done(message: str, endpoint: str, *, partial: str | None = None, **values):
    """After a successful action: the swapped partial for HTMX, else flash + redirect (PRG)."""
    context = values.pop("context", {})
    if partial and is_htmx():
        return render_template(partial, notice=message, **context)
    flash(message, "success")
    return redirect(url_for(endpoint, **values))


def refused(message: str, endpoint: str, *, partial: str | None = None, **values):
    """An action the console will not take (e.g. disabling yourself): the console's usual
    message, never a bare 400 page. HTMX gets ``partial`` with the message (422, which the
    console swaps); a plain form gets a flashed error and is sent back."""
    context = values.pop("context", {})
    if partial and is_htmx():
        return render_template(partial, notice=message, notice_kind="error", **context), 422
    flash(message, "error")
    return redirect(url_for(endpoint, **values))


def errors_of(exc: ServiceError) -> dict[str, str]:
    """Roll back the failed operation and return its per-field messages (``_form`` for the
    form as a whole). The view re-renders the form instead of letting the error reach the
    edge, so it undoes the half-done work here, as the edge's error handler would."""
    db.session.rollback()
    if exc.status == 429:  # a quota: audited once per window (app/quotas)
        from app.quotas.enforce import record_notice

        record_notice(exc)
    errors = dict(getattr(exc, "errors", None) or {})
    return errors or {"_form": exc.message}


def form_list(name: str) -> list[str]:
    """A list field: checkboxes/multi-selects, or one value per line / comma separated."""
    values = request.form.getlist(name)
    if len(values) == 1 and ("\n" in values[0] or "," in values[0]):
        values = values[0].replace(",", "\n").splitlines()
    return [v.strip() for v in values if v.strip()]


def form_int(name: str):
    """An integer field; a non-number is passed through so the service reports it."""
    raw = (request.form.get(name) or "").strip()
    try:
        return int(raw)
    except ValueError:
        return raw


def page_args() -> tuple[str, str | None]:
    """The search query and cursor of a list page."""
    query = (request.args.get("q") or "").strip()[:200]
    after = (request.args.get("after") or "").strip()[:80] or None
    return query, after


def paged(rows: list, limit: int = PAGE_SIZE) -> tuple[list, str | None]:
    """Split a ``limit + 1`` fetch into the page and the next cursor (the last id shown)."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, rows[-1].id
    return rows, None


NAV = [
    ("admin.overview", "Overview"),
    ("admin.users_index", "Users"),
    ("admin.invitations_index", "Invitations"),
    ("admin.orgs_index", "Organizations"),
    ("admin.clients_index", "Clients"),
    ("admin.registration_tokens_index", "Client registration"),
    ("admin.resources_index", "APIs"),
    ("admin.roles_index", "Roles"),
    ("admin.providers_index", "Identity providers"),
    ("admin.settings", "Settings"),
    ("admin.domains_index", "Domains"),
    ("admin.email_templates_index", "Email templates"),
    ("admin.keys_index", "Signing keys"),
    ("admin.sessions_index", "Sessions"),
    ("admin.audit_index", "Audit log"),
    ("admin.usage", "Usage"),
    ("admin.api_keys_index", "API keys"),
    ("admin.webhooks_index", "Webhooks"),
]


@bp.context_processor
def _console_context():
    if "console_tenant" not in g:
        return {}
    return {
        "console_tenant": g.console_tenant,
        "is_operator": bool(g.get("is_operator")),
        "console_nav": [(e, label) for e, label in NAV if e in current_app.view_functions],
    }
