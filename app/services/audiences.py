"""RFC 8707 resource indicators on the token path: which API a token is for, and which of
that API's permissions it carries. Pure rules over a :class:`ResourceConfig`; no SQL.

* ``resource`` names one of THIS tenant's resources by identifier; anything else (an
  unknown URI, a non-URI, another tenant's identifier) is ``invalid_target`` (§2).
* A user's token for a resource: ``aud`` = its identifier, ``scope`` = the permissions
  asked for (in ``scope``) ∩ the user's effective permissions; when none of the
  resource's permissions were asked for, all effective ones. For a third-party client the
  grant remembers exactly what the consent page showed (:func:`consent_permissions`,
  :func:`grant_resources`), and later tokens never exceed it.
* A client_credentials token: the client's ``resource_grants`` bound it; no grant for
  the resource is ``invalid_target``.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.services.permissions import RoleKey
from app.services.permissions import effective_permissions
from app.services.resource_config import ResourceConfig
from app.services.resource_config import ResourceEntry

MAX_RESOURCES = 10


MAX_SCOPE = 1000  # what an authorization code and a grant store


class InvalidTarget(Exception):
    """RFC 8707 §2 ``invalid_target``; the message is safe to show the client."""


class ScopeTooLong(ValueError):
    """``invalid_scope``: more permissions asked than an authorization can hold."""


def resolve(config: ResourceConfig, identifiers: Iterable[str]) -> tuple[str, ...]:
    """The requested resources, checked: each one of this tenant's; de-duplicated."""
    out: dict[str, None] = {}
    for identifier in identifiers:
        if config.resource(identifier) is None:
            raise InvalidTarget("The requested resource is not known here.")
        out[identifier] = None
    if len(out) > MAX_RESOURCES:
        raise InvalidTarget(f"At most {MAX_RESOURCES} resources per request.")
    return tuple(out)


def entry_for(config: ResourceConfig, identifier: str) -> ResourceEntry:
    entry = config.resource(identifier)
    if entry is None:
        raise InvalidTarget("The requested resource is not known here.")
    return entry


def asked_permissions(entry: ResourceEntry, scope_value: str | None) -> list[str]:
    """The resource's permissions named in ``scope_value``, in the order asked."""
    known = set(entry.permissions)
    return [s for s in dict.fromkeys((scope_value or "").split()) if s in known]


def _pick(chosen: list[str], allowed) -> str:
    return " ".join(p for p in chosen if p in allowed)


def user_scope(
    config: ResourceConfig,
    identifier: str,
    scope_value: str | None,
    role_keys: Iterable[RoleKey],
    *,
    bound: Iterable[str] | None = None,
) -> str:
    """``scope`` of a user's token for ``identifier``: asked ∩ effective, all effective
    when nothing of this resource was asked. ``bound``: what the user approved for a
    third-party client (tokens never carry more, whatever roles gain later)."""
    entry = entry_for(config, identifier)
    allowed = set(
        effective_permissions(role_keys, config.role_permissions).get(identifier, frozenset())
    )
    chosen = asked_permissions(entry, scope_value)
    if bound is not None:
        bound = list(bound)
        allowed &= set(bound)
        chosen = chosen or bound
    return _pick(chosen or list(entry.permissions), allowed)


def client_scope(
    config: ResourceConfig, client_id: str, identifier: str, scope_value: str | None
) -> str:
    """``scope`` of a client_credentials token for ``identifier``: asked ∩ granted (all
    granted when nothing was asked); no grant for the resource is invalid_target."""
    entry = entry_for(config, identifier)
    grants = config.grants_of(client_id)
    if identifier not in grants:
        raise InvalidTarget("This client may not request tokens for that resource.")
    return _pick(
        asked_permissions(entry, scope_value) or list(entry.permissions), grants[identifier]
    )


def consent_permissions(
    config: ResourceConfig,
    identifiers: Iterable[str],
    scope_value: str | None,
    role_keys: Iterable[RoleKey],
) -> dict[str, list[str]]:
    """What a user's tokens for each requested resource would carry now: what the consent
    page shows (and what a remembered consent then covers)."""
    keys = list(role_keys)
    return {
        identifier: user_scope(config, identifier, scope_value, keys).split()
        for identifier in identifiers
    }


def with_permissions(
    allowed_scope: str, asked_scope: str | None, config: ResourceConfig, identifiers
) -> str:
    """The authorization's scope: the client's allowed scopes asked for, plus the asked
    permissions of the requested resources (other unknown values are dropped)."""
    names = {p for i in identifiers for p in entry_for(config, i).permissions}
    asked = [s for s in (asked_scope or "").split() if s in names]
    scope_value = " ".join(dict.fromkeys([*allowed_scope.split(), *asked]))
    if len(scope_value) > MAX_SCOPE:
        raise ScopeTooLong(f"Ask for at most {MAX_SCOPE} characters of scope.")
    return scope_value


def oidc_scope(scope_value: str | None, config: ResourceConfig | None) -> str:
    """``scope_value`` without API permissions: what the client's own token and the ID
    token are about."""
    if not config or not config.resources:
        return scope_value or ""
    names = config.permission_names
    return " ".join(s for s in (scope_value or "").split() if s not in names)


def grant_resources(
    identifiers: Iterable[str], shown: dict[str, list[str]] | None = None
) -> list[dict]:
    """What an authorization code and its grant remember of the requested resources:
    ``[{"resource", "permissions"}]``, ``permissions`` being what the user approved for a
    third-party client (``shown``), or None (a first-party client: the roles decide)."""
    return [
        {"resource": i, "permissions": (list(shown.get(i, [])) if shown is not None else None)}
        for i in identifiers
    ]


def granted(resources: list | None, identifier: str) -> tuple[bool, list[str] | None]:
    """Whether ``identifier`` was granted at authorization, and its bound (or None)."""
    for entry in resources or []:
        if isinstance(entry, dict) and entry.get("resource") == identifier:
            return True, entry.get("permissions")
    return False, None


def token_ttl(entry: ResourceEntry, default: int) -> int:
    """The resource's own access-token lifetime, else the tenant's."""
    return int(entry.access_token_ttl_seconds or default)
