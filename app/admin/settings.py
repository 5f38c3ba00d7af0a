"""A tenant's auth configuration, with a live preview of its login page (an HTMX partial
re-rendered as the branding fields change)."""

from __future__ import annotations

from flask import request
from flask import url_for

from app.admin.access import console_tenant
from app.admin.common import done
from app.admin.common import errors_of
from app.admin.common import form_int
from app.admin.common import form_list
from app.admin.common import respond
from app.admin.common import tenant_route
from app.services import logos
from app.services import settings as settings_service
from app.services.errors import ServiceError
from app.services.errors import ValidationFailed

NUMBERS = (
    "password_min_length",
    "lockout_threshold",
    "lockout_minutes",
    "session_idle_minutes",
    "session_max_hours",
    "access_token_ttl_seconds",
    "id_token_ttl_seconds",
    "refresh_token_ttl_days",
    "refresh_token_idle_days",
)
FLAGS = (
    "passwordless_passkeys",
    "require_email_verification",
    "require_pkce_for_confidential_clients",
    "require_pushed_authorization_requests",
    "dpop_nonce_required",
)
BRANDING = ("display_name", "logo_url", "primary_color")


def _changes_from_form() -> dict:
    """The whole settings form as a partial update (the service validates every value)."""
    changes: dict = {
        "signup_mode": request.form.get("signup_mode", ""),
        "mfa_policy": request.form.get("mfa_policy", ""),
        "login_methods": request.form.getlist("login_methods"),
        "mfa_factors": request.form.getlist("mfa_factors"),
        "allowed_email_domains": form_list("allowed_email_domains"),
        "branding": {k: (request.form.get(f"branding.{k}") or "").strip() for k in BRANDING},
    }
    changes["custom_claims"] = claims_from_text(request.form.get("custom_claims", ""))
    if "default_locale" in request.form:  # the languages and mail section (#20)
        changes["default_locale"] = request.form.get("default_locale", "")
        changes["locales"] = request.form.getlist("locales")
        changes["mail_sender_name"] = (request.form.get("mail_sender_name") or "").strip()
        changes["mail_reply_to"] = (request.form.get("mail_reply_to") or "").strip()
    if "dynamic_registration" in request.form:
        changes["dynamic_registration"] = request.form.get("dynamic_registration", "")
    changes.update({name: form_int(name) for name in NUMBERS})
    changes.update({name: bool(request.form.get(name)) for name in FLAGS})
    return changes


def claims_from_text(text: str) -> dict:
    """``claim = metadata key`` per line (a line without ``=`` maps a key to itself)."""
    mapping = {}
    for line in (text or "").splitlines():
        claim, sep, key = line.partition("=")
        claim, key = claim.strip(), key.strip()
        if claim:
            mapping[claim] = key if sep else claim
    return mapping


def claims_text(mapping: dict) -> str:
    return "\n".join(f"{claim} = {key}" for claim, key in (mapping or {}).items())


def _preview_branding(source) -> dict:
    """Branding for the preview: typed values where valid, the saved ones otherwise."""
    saved = settings_service.get_settings(console_tenant())["branding"]
    branding, problems = dict(saved), {}
    for key in BRANDING:
        value = (source.get(f"branding.{key}") or "").strip()
        try:
            settings_service.validate_changes({"branding": {key: value}})
        except ValidationFailed as exc:
            problems.update(exc.errors)
        else:
            branding[key] = value
    branding["display_name"] = branding["display_name"] or console_tenant().name
    return {"preview": branding, "preview_problems": problems}


def _logo_context(tenant, errors: dict | None = None) -> dict:
    row = logos.get_logo(tenant)
    src = ""
    if row is not None:
        src = (
            url_for("pages.home")
            + logos.logo_path(row.digest, logos.EXTENSIONS[row.content_type])[1:]
        )
    return {"logo": row, "logo_src": src, "logo_errors": errors or {}}


@tenant_route("/settings", methods=["GET", "POST"])
def settings():
    tenant = console_tenant()
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            settings_service.update_settings(tenant, _changes_from_form())
        except ServiceError as exc:
            errors = errors_of(exc)
        else:
            return done("Settings saved.", "admin.settings")
    values = settings_service.get_settings(tenant)
    if errors:  # show what was typed, next to its error
        values = {**values, **_changes_from_form()}
        values["allowed_email_domains"] = form_list("allowed_email_domains")
    values = {**values, "custom_claims_text": claims_text(values.get("custom_claims"))}
    if errors:
        values["custom_claims_text"] = request.form.get("custom_claims", "")
    source = request.form if errors else {f"branding.{k}": v for k, v in values["branding"].items()}
    return respond(
        "admin/settings.html",
        status=422 if errors else 200,
        s=values,
        errors=errors,
        **_preview_branding(source),
        **_logo_context(tenant),
    )


@tenant_route("/settings/logo", methods=["POST"], endpoint="settings_logo")
def settings_logo():
    """Upload the logo (a separate multipart form next to the settings form)."""
    tenant = console_tenant()
    upload = request.files.get(logos.FIELD)
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed({logos.FIELD: "Choose a PNG, JPEG or SVG file."})
        logos.set_logo(tenant, upload.stream.read(logos.MAX_BYTES + 1))
    except ServiceError as exc:
        values = settings_service.get_settings(tenant)
        source = {f"branding.{k}": v for k, v in values["branding"].items()}
        return respond(
            "admin/settings.html",
            status=422,
            s=values,
            errors={},
            **_preview_branding(source),
            **_logo_context(tenant, errors_of(exc)),
        )
    return done("Logo uploaded.", "admin.settings")


@tenant_route("/settings/logo/delete", methods=["POST"], endpoint="settings_logo_delete")
def settings_logo_delete():
    logos.delete_logo(console_tenant())
    return done("Logo removed.", "admin.settings")


@tenant_route("/settings/preview")
def settings_preview():
    """The mini login card for the branding being typed (query parameters)."""
    return respond(
        "admin/_partials/_login_preview.html",
        "admin/_partials/_login_preview.html",
        **_preview_branding(request.args),
    )
