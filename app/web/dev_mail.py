"""Development only: ``/_dev/mail`` on the base host lists the mail outbox, with
clickable links (no SMTP needed to follow a verification or reset link). 404 elsewhere."""

from __future__ import annotations

import re

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import render_template
from markupsafe import Markup
from markupsafe import escape
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from app.models.mail import SUPPRESSED
from app.tenancy import current_tenant

bp = Blueprint("dev_mail", __name__)

_LINK = re.compile(r"https?://[^\s<>\"']+")


def linkify(text: str) -> Markup:
    """Escape ``text`` and turn its http(s) URLs into links."""
    escaped = str(escape(text))  # no raw <, >, " or ' survive: the links stay inert text
    return Markup(  # noqa: S704 - built from escaped text only
        _LINK.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
    )


@bp.get("/_dev/mail")
def index():
    if current_app.config.get("PRODUCTION") or not current_app.config.get("DEV_MAIL_VIEWER"):
        abort(404)
    if not current_tenant.is_system:
        abort(404)
    stmt = (  # suppressed rows are decoys (app.services.passwordless), never mail
        select(OutboxMessage)
        .where(OutboxMessage.status != SUPPRESSED)
        .order_by(OutboxMessage.id.desc())
        .limit(50)
    )
    messages = list(db.session.scalars(stmt))
    return render_template("web/dev_mail.html", messages=messages, linkify=linkify)
