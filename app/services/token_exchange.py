"""OAuth 2.0 Token Exchange (RFC 8693) as delegation inside one tenant: a confidential
client (the actor) trades an access token of THIS tenant (the subject token) for an access
token aimed at one API resource of the same tenant, acting for the token's subject.

* The subject token is verified as every access token here (app/services/tokens.py: this
  tenant's keys, issuer and ``tenant_id``, not expired, not revoked, its grant alive);
  anything else, another tenant's token included, is ``invalid_request`` (§2.2.2: "if
  the subject_token ... [is] invalid for any reason, or [is] unacceptable based on
  policy"). A ``may_act`` claim on it (§4.4) must name the actor.
* The target is one resource (RFC 8707 ``resource``, or ``audience`` naming the same
  identifier) that the actor's ``resource_grants`` list: the exchange policy. An unknown
  resource, or one the policy does not list, is ``invalid_target``.
* ``scope``: the resource's permissions asked for (all of them when none is asked), never
  more than the policy grants nor than the subject holds: for a user, the permissions of
  the roles both named in the subject token and held now (tenant roles, and roles in the
  token's organization); for a client subject, its own resource grants. A subject token
  for the same resource also bounds it by its own ``scope``: an exchange never widens.
* The new token keeps ``sub``, ``tenant_id``, ``org_id``, ``sid`` and the roles above, is
  for ``aud`` = the resource, lives no longer than the subject token (nor the resource's
  lifetime), carries ``act: {"sub": <actor>}`` (nested when the subject token had an
  ``act``, §4.1), and its ``jti`` names the subject's grant, so revoking that grant (sign
  out, refresh-token reuse) revokes the exchanged tokens too. No refresh token.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.models import Tenant
from app.models import User
from app.services import audiences
from app.services import audit
from app.services import clients as clients_service
from app.services import issuance
from app.services import tokens
from app.services.permissions import effective_permissions
from app.services.resource_config import resource_config
from app.tenancy import scope

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # RFC 8693 §3


class ExchangeRefused(Exception):
    """An RFC 6749 §5.2 / RFC 8693 §2.2.2 error: ``error`` and a description safe to show."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error
        self.description = description


def _invalid_request(description: str) -> ExchangeRefused:
    return ExchangeRefused("invalid_request", description)


def _invalid_target(description: str) -> ExchangeRefused:
    return ExchangeRefused("invalid_target", description)


def target_of(resources: list[str], audience_values: list[str]) -> str:
    """The one resource identifier named by ``resource`` and/or ``audience`` (both may be
    given when they agree); raises ExchangeRefused."""
    named = list(dict.fromkeys([*resources, *audience_values]))
    if not named:
        raise _invalid_request("Name the target API with resource (or audience).")
    if len(named) > 1 or len(resources) > 1 or len(audience_values) > 1:
        raise _invalid_target("Ask for one resource per token exchange.")
    return named[0]


def verify_subject(tenant: Tenant, subject_token: str) -> dict:
    """The claims of a live access token of this tenant; raises ExchangeRefused."""
    try:
        return tokens.verify_access_token(tenant, subject_token)
    except tokens.InvalidToken as exc:
        # The reason stays in the server's knowledge: another tenant's token, an expired
        # or a revoked one all read the same to the client.
        raise _invalid_request("The subject token is invalid, expired or revoked.") from exc


def allows_actor(claims: dict, actor_id: str) -> bool:
    """RFC 8693 §4.4: without ``may_act`` any actor the policy allows; with it, only the
    party it names (by ``sub``)."""
    if "may_act" not in claims:
        return True
    may_act = claims["may_act"]
    return isinstance(may_act, dict) and may_act.get("sub") == actor_id


def act_claim(claims: dict, actor_id: str) -> dict:
    """RFC 8693 §4.1: the actor, with the subject token's own ``act`` (a prior delegation)
    nested inside as the actor before it."""
    act = {"sub": actor_id}
    prior = claims.get("act")
    if isinstance(prior, dict) and prior:
        act["act"] = prior
    return act


def _audiences_of(claims: dict) -> list:
    aud = claims.get("aud")
    return list(aud) if isinstance(aud, list) else [aud]


@dataclass(frozen=True)
class _Subject:
    """Who the subject token is about, as the exchange needs it: its claims, its user
    (None for a machine subject), the role keys that count and what it holds on the API."""

    claims: dict
    user: User | None
    role_keys: list
    held: frozenset

    @property
    def roles(self) -> list[str]:
        return sorted({name for _kind, name in self.role_keys})


def _subject(tenant: Tenant, claims: dict, config, target: str) -> _Subject:
    """The subject's standing on ``target``: a user's roles (those in the token that the
    user still holds) or a client subject's resource grants; raises ExchangeRefused."""
    named_roles = {r for r in claims.get("roles") or [] if isinstance(r, str)}
    user = scope(tenant).get(User, claims["sub"])
    if user is not None:
        if not user.is_active:
            raise _invalid_request("The subject of this token is not an active user.")
        org_id = claims.get("org_id") if isinstance(claims.get("org_id"), str) else None
        keys = [
            key for key in issuance.user_role_keys(tenant, user, org_id) if key[1] in named_roles
        ]
        held = effective_permissions(keys, config.role_permissions).get(target, frozenset())
        return _Subject(claims, user, keys, frozenset(held))
    if claims["sub"] == claims.get("client_id"):  # a client_credentials token
        client = clients_service.authenticating_client(tenant, claims["sub"])
        if client is None:
            raise _invalid_request("The subject of this token is not an active client.")
        keys = [("client", r) for r in client.roles if r in named_roles]
        held = config.grants_of(client.id).get(target, frozenset())
        return _Subject(claims, None, keys, frozenset(held))
    raise _invalid_request("The subject of this token is not known here.")


def exchange_scope(entry, asked: str | None, policy: Iterable[str], subject: _Subject) -> str:
    """The resource's permissions asked for (all when none is), within the actor's policy
    and the subject's holdings; a subject token for the same resource bounds it too."""
    allowed = set(policy) & subject.held
    if entry.identifier in _audiences_of(subject.claims):
        allowed &= tokens.scopes_of(subject.claims.get("scope"))
    chosen = audiences.asked_permissions(entry, asked) or list(entry.permissions)
    return " ".join(p for p in chosen if p in allowed)


def exchange(
    tenant: Tenant, actor, subject_token: str, target: str, asked_scope: str | None
) -> dict:
    """The token response (RFC 8693 §2.2.1) for ``actor`` (a ClientConfig that may use the
    grant) exchanging ``subject_token`` for a token for ``target``; audited. Raises
    ExchangeRefused."""
    config = resource_config(tenant)
    entry = config.resource(target)
    if entry is None:
        raise _invalid_target("The requested resource is not known here.")
    policy = config.grants_of(actor.id).get(target)
    if policy is None:
        raise _invalid_target("This client may not exchange tokens for that resource.")
    claims = verify_subject(tenant, subject_token)
    if not allows_actor(claims, actor.id):
        raise _invalid_request("The subject token does not allow this client to act for it.")
    subject = _subject(tenant, claims, config, target)
    scope_value = exchange_scope(entry, asked_scope, policy, subject)
    extra = issuance.user_claims_extra(tenant, subject.user) if subject.user else {}
    extra = {**extra, "act": act_claim(claims, actor.id)}
    access_token, minted = tokens.mint_access_token(
        tenant,
        actor,
        subject=claims["sub"],
        scope=scope_value,
        roles=subject.roles,
        grant_id=tokens.grant_id_of(claims),
        sid=claims.get("sid"),
        org_id=claims.get("org_id"),
        audience=target,
        ttl=audiences.token_ttl(entry, tokens.access_token_ttl(tenant)),
        extra=extra,
        not_after=int(claims["exp"]),  # within the subject token's life
    )
    if minted["exp"] <= minted["iat"]:  # the subject token ran out meanwhile
        raise _invalid_request("The subject token is invalid, expired or revoked.")
    audit.record(
        tenant,
        "token.exchanged",
        target_type="user" if subject.user else "client",
        target_id=claims["sub"],
        actor_type="client",
        actor_id=actor.id,
        resource=target,
        scope=scope_value,
        subject_client_id=claims.get("client_id"),
        jti=minted["jti"],
    )
    return {
        "access_token": access_token,
        "issued_token_type": ACCESS_TOKEN_TYPE,
        "token_type": "Bearer",
        "expires_in": minted["exp"] - minted["iat"],
        "scope": scope_value,
    }
