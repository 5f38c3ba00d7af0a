"""The edge of sign-in: return URLs (``next``) and finishing a sign-in.

``next`` is a path on the tenant's own origin, e.g. ``/oauth2/authorize?client_id=...``.
Under the ``/t/<slug>`` form it may be given with or without that prefix. Anything
that is not a same-origin relative path (``//evil``, ``https://evil``, ``/\\evil``) is
ignored and the user lands on /account.
"""

from __future__ import annotations

from flask import redirect
from flask import request
from flask import url_for

from app.models import User
from app.quotas import enforce as quotas
from app.services import audit
from app.tenancy import current_tenant
from app.tenancy import is_same_origin_path
from app.web.session import sign_in

MAX_NEXT_LENGTH = 4000


def safe_next(target: str | None) -> str | None:
    """``target`` as a path on this origin (script root added), or None if unsafe."""
    if not target or len(target) > MAX_NEXT_LENGTH or not is_same_origin_path(target):
        return None
    root = request.script_root  # "/t/<slug>" under the path form, "" otherwise
    if root and not (target == root or target.startswith(root + "/")):
        target = root + target
    return target


def next_or_default(target: str | None) -> str:
    return safe_next(target) or url_for("account.index")


def requested_next() -> str:
    """The ``next`` a page was opened with (query string), kept only if safe."""
    value = request.args.get("next", "")
    return value if safe_next(value) else ""


def complete_sign_in(user: User, amr: list[str], target: str | None):
    """Start the browser session (new id), audit, and send the user on their way."""
    quotas.admit_sign_in(current_tenant, user.id)  # monthly_active_users: 429 page
    session = sign_in(user, amr=amr, write=False)
    audit.record_now(  # Core INSERTs: on PostgreSQL with the session's, one statement
        current_tenant,
        "login.succeeded",
        target_type="user",
        target_id=user.id,
        with_session=session,
        session_id=session.id,
        amr=amr,
    )
    return redirect(next_or_default(target))


def login_redirect():
    """Send an anonymous visitor to the sign-in page, coming back here afterwards."""
    here = request.script_root + request.full_path.rstrip("?")
    return redirect(url_for("auth.login", next=here))


def signin_required(view):
    """Decorate a view of a signed-in user's page; anonymous visitors go to /login."""
    from functools import wraps

    from flask_login import current_user

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_redirect()
        return view(*args, **kwargs)

    return wrapper
