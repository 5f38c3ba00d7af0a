"""Pushed authorization requests (RFC 9126): the request a client pushed, kept server-side
(``flow_states``) and referenced by a ``request_uri``.

* A pushed request lives 60 s and is redeemed once (an atomic ``DELETE … RETURNING``,
  whichever instance answers), by the client that pushed it, at the tenant it was pushed
  to (the rows are the tenant's).
* While the person signs in (login, second factor, consent, organization picker) the
  redeemed parameters wait under a *resume* handle, so the browser's journey through the
  hosted pages carries an opaque handle, never the parameters (RFC 9126 §4: only the
  pushed parameters count). A resume handle is also bound to the client; it ends when the
  authorization response is sent, or after :data:`RESUME_TTL_SECONDS`.
* ``require_pushed_authorization_requests``: a client's flag, or the tenant's setting.
"""

from __future__ import annotations

from app.models import Tenant
from app.services import flow_states
from app.services.settings import read_settings

URN_PREFIX = "urn:ietf:params:oauth:request_uri:"
EXPIRES_IN = 60  # RFC 9126 §2.2: short-lived; 60 s as issue #19 asks
RESUME_TTL_SECONDS = 30 * 60  # a sign-in with a second factor or a consent page fits
PUSHED = "par"
RESUME = "par_resume"


class InvalidRequestUri(Exception):
    """RFC 9101 §6.2 ``invalid_request_uri``: unknown, used, expired or not this client's."""


def push(tenant: Tenant, client_id: str, params: list[tuple[str, str]]) -> str:
    """Keep a validated authorization request; the ``request_uri`` that names it."""
    handle = flow_states.put(
        tenant, PUSHED, {"client_id": client_id, "params": [list(p) for p in params]}, EXPIRES_IN
    )
    return URN_PREFIX + handle


def _handle_of(request_uri: str | None) -> str | None:
    if not isinstance(request_uri, str) or not request_uri.startswith(URN_PREFIX):
        return None
    return request_uri[len(URN_PREFIX) :] or None


def redeem(tenant: Tenant, client_id: str | None, request_uri: str | None):
    """The parameters behind ``request_uri`` for ``client_id``, and whether it was a resume
    handle (``(params, resume_handle_or_None)``). A pushed request is consumed here; a
    resume handle stays until :func:`finish`. Raises :class:`InvalidRequestUri`."""
    handle = _handle_of(request_uri)
    if handle is None:
        raise InvalidRequestUri("The request_uri is not one this server issued.")
    for kind in (PUSHED, RESUME):
        data = flow_states.get(tenant, kind, handle)
        if data is None:
            continue
        if data.get("client_id") != client_id:
            # Another client's request: refused, and left for its own client.
            raise InvalidRequestUri("The request_uri was not pushed by this client.")
        if kind == PUSHED:
            data = flow_states.take(tenant, kind, handle)  # once, whichever instance asks
            if data is None:
                break
            return [tuple(p) for p in data["params"]], None
        return [tuple(p) for p in data["params"]], handle
    raise InvalidRequestUri("The request_uri is unknown, expired or already used.")


def resume(tenant: Tenant, client_id: str, params: list[tuple[str, str]]) -> str:
    """Keep redeemed parameters while the person signs in; the ``request_uri`` to come
    back with."""
    data = {"client_id": client_id, "params": [list(p) for p in params]}
    return URN_PREFIX + flow_states.put(tenant, RESUME, data, RESUME_TTL_SECONDS)


def finish(tenant: Tenant, resume_handle: str | None) -> None:
    """The authorization response was sent: the resume handle ends."""
    if resume_handle:
        flow_states.discard(tenant, RESUME, resume_handle)


def is_required(tenant: Tenant, client) -> bool:
    """Whether ``client`` (a row or a snapshot's ClientConfig) must push its authorization
    requests: its own flag, or the tenant's ``require_pushed_authorization_requests``."""
    if read_settings(tenant)["require_pushed_authorization_requests"]:
        return True
    return bool(client.require_pushed_authorization_requests)
