"""The ``acr`` claim and the ``claims`` request parameter (OIDC Core §2, §3.1.2.1, §5.5).

Authentication context classes (``acr``) name how strongly the session was authenticated,
from its ``amr`` (RFC 8176), on two levels, as the REFEDS SFA and MFA profiles do:

- ``sfa`` — one factor: a password, an emailed code or magic link, an upstream or
  enterprise sign-in (whatever that provider checked, we cannot tell);
- ``mfa`` — two factors (``pwd`` + ``otp``/``hwk``, an upstream sign-in plus TOTP, …) or a
  passkey with user verification (``hwk`` + ``user``): ``mfa.amr_satisfies_mfa``.

``https://refeds.org/profile/sfa``, ``https://refeds.org/profile/mfa`` and the PAPE
multi-factor URI (what Auth0 uses) are accepted as aliases. A higher level meets a lower
one. The ID token always carries ``acr`` (§2 leaves it optional; Keycloak always sends
it): the first value the client asked for that the session meets, else the level's name.

``acr_values`` is voluntary (§3.1.2.1): when its most preferred known value is ``mfa`` the
user is taken through the step-up, and if MFA is off in the tenant the lower ``acr`` is
issued. ``acr`` requested as an essential claim (§5.5.1.1) that cannot be met is an
``unmet_authentication_requirements`` error (OpenID Connect Core Unmet Authentication
Requirements 1.0).

The ``claims`` parameter (§5.5) may ask for individual user claims in the ID token and at
userinfo beyond what the scopes release. Gatehouse releases a claim asked for this way
only if the client registered the scope that would release it (``email``,
``email_verified`` → ``email``; ``name``, ``updated_at`` → ``profile``), and for a
third-party client that scope is part of the consent. Other claims are ignored (§5.5: a
claim the provider does not have is left out, essential or not). What was asked is kept
with the code and its grant (``claims_request``), so refreshed ID tokens and userinfo
keep answering it. ``sub`` with a ``value`` (§5.5.1) answers only for that user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field

from sqlalchemy import bindparam
from sqlalchemy import select

from app.models import Grant
from app.services import mfa

SFA = "sfa"
MFA = "mfa"
REFEDS_SFA = "https://refeds.org/profile/sfa"
REFEDS_MFA = "https://refeds.org/profile/mfa"
PAPE_MFA = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
LEVELS = {SFA: 1, REFEDS_SFA: 1, MFA: 2, REFEDS_MFA: 2, PAPE_MFA: 2}
ACR_VALUES_SUPPORTED = [SFA, MFA, REFEDS_SFA, REFEDS_MFA, PAPE_MFA]
CLAIM_SCOPES = {"name": "profile", "updated_at": "profile", "email": "email"}
CLAIM_SCOPES["email_verified"] = "email"
TARGETS = ("id_token", "userinfo")
MAX_LENGTH = 4096


def acr_values_supported(settings: dict) -> list[str]:
    """The values discovery lists: the multi-factor ones only where the tenant's MFA is on."""
    if settings.get("mfa_policy") == "off" or not settings.get("mfa_factors"):
        return [v for v in ACR_VALUES_SUPPORTED if LEVELS[v] == LEVELS[SFA]]
    return list(ACR_VALUES_SUPPORTED)


class InvalidClaimsRequest(ValueError):
    """The ``claims`` parameter is not the JSON object OIDC Core §5.5 describes."""


def level_of(amr) -> int:
    return LEVELS[MFA] if mfa.amr_satisfies_mfa(amr) else LEVELS[SFA]


def acr_of(amr, preferred=()) -> str:
    """The ``acr`` for a session with ``amr``: the first of ``preferred`` it meets, else
    the name of its level."""
    achieved = level_of(amr)
    for value in preferred:
        if value in LEVELS and LEVELS[value] <= achieved:
            return value
    return MFA if achieved == LEVELS[MFA] else SFA


@dataclass(frozen=True)
class ClaimsRequest:
    """A parsed ``claims`` parameter: per target, claim name → its request (or None)."""

    id_token: dict = field(default_factory=dict)
    userinfo: dict = field(default_factory=dict)

    def acr(self) -> tuple[list[str], bool]:
        """The acr values asked for here (``value``/``values``), and whether essential."""
        for target in (self.id_token, self.userinfo):
            spec = target.get("acr")
            if "acr" in target:
                spec = spec or {}
                values = spec.get("values") or ([spec["value"]] if "value" in spec else [])
                return [v for v in values if isinstance(v, str)], bool(spec.get("essential"))
        return [], False

    def subject(self):
        """The ``sub`` value the ID token must have (§5.5.1), or None."""
        spec = self.id_token.get("sub") or {}
        return spec.get("value")

    def stored(self, allowed_scope: str) -> dict | None:
        """What the code and grant keep: the user claims asked for per target that the
        client's registered scopes allow; None when there is none."""
        allowed = set((allowed_scope or "").split())
        kept = {
            target: sorted(n for n in getattr(self, target) if CLAIM_SCOPES.get(n) in allowed)
            for target in TARGETS
        }
        kept = {target: names for target, names in kept.items() if names}
        return kept or None


def parse(raw) -> ClaimsRequest | None:
    """The ``claims`` parameter (a JSON string, or an object from a request object);
    None when absent. Raises InvalidClaimsRequest."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        if len(raw) > MAX_LENGTH:
            raise InvalidClaimsRequest("The claims parameter is too long.")
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurd nesting
            raise InvalidClaimsRequest("The claims parameter is not valid JSON.") from exc
    if not isinstance(raw, dict):
        raise InvalidClaimsRequest("The claims parameter must be a JSON object.")
    parts = {}
    for target in TARGETS:  # other members are ignored (§5.5)
        requested = raw.get(target, {})
        if requested is None:
            requested = {}
        if not isinstance(requested, dict):
            raise InvalidClaimsRequest(f"claims.{target} must be a JSON object.")
        for name, spec in requested.items():
            _check_spec(target, name, spec)
        parts[target] = dict(requested)
    return ClaimsRequest(**parts)


def _check_spec(target: str, name: str, spec) -> None:
    where = f"claims.{target}.{name}"
    if spec is None:
        return
    if not isinstance(spec, dict):
        raise InvalidClaimsRequest(f"{where} must be null or a JSON object.")
    if "essential" in spec and not isinstance(spec["essential"], bool):
        raise InvalidClaimsRequest(f"{where}.essential must be true or false.")
    if "values" in spec and not isinstance(spec["values"], list):
        raise InvalidClaimsRequest(f"{where}.values must be an array.")


@dataclass(frozen=True)
class AcrRequest:
    """What the authorization request asks of the authentication: ``acr_values``
    (voluntary) or ``acr`` in ``claims`` (essential or voluntary)."""

    values: list[str]
    essential: bool

    @classmethod
    def of(cls, acr_values: str | None, claims: ClaimsRequest | None) -> AcrRequest:
        if claims is not None:
            values, essential = claims.acr()
            if values or essential:
                return cls(values, essential)
        return cls((acr_values or "").split(), False)

    def wants_mfa(self) -> bool:
        """The most preferred value this provider knows is a multi-factor one."""
        known = [v for v in self.values if v in LEVELS]
        return bool(known) and LEVELS[known[0]] == LEVELS[MFA]

    def unmet(self, amr) -> bool:
        """An essential request that a session with ``amr`` does not meet."""
        if not self.essential or not self.values:
            return False
        achieved = level_of(amr)
        return not any(v in LEVELS and LEVELS[v] <= achieved for v in self.values)

    def acr_for(self, amr) -> str:
        return acr_of(amr, self.values)


def with_claim_scopes(scope_value: str, stored: dict | None) -> str:
    """``scope_value`` plus the scopes the stored claims request releases (for consent)."""
    scopes = (scope_value or "").split()
    for names in (stored or {}).values():
        for name in names:
            if CLAIM_SCOPES[name] not in scopes:
                scopes.append(CLAIM_SCOPES[name])
    return " ".join(scopes)


def _requested(user, names) -> dict:
    from app.services.tokens import user_claims  # tokens reads userinfo_column below

    every = user_claims(user, "profile email")
    return {name: every[name] for name in names or () if name in every}


def id_token_claims(user, grant: Grant) -> dict:
    """``acr`` and the user claims the grant's claims request asked for in the ID token."""
    asked = (grant.claims_request or {}).get("id_token")
    return {"acr": grant.acr or acr_of(grant.amr), **_requested(user, asked)}


def userinfo_claims(user, scope: str) -> dict:
    """Userinfo (OIDC Core §5.3): the claims of the scopes, plus those the claims request
    asked for at userinfo. ``user``: the userinfo row, with its grant's ``claims_request``."""
    from app.services.tokens import user_claims

    claims = user_claims(user, scope)
    asked = (getattr(user, "claims_request", None) or {}).get("userinfo")
    return {**_requested(user, asked), **claims}


def userinfo_column(tenant_id):
    """The access token's grant's ``claims_request``, a column of the userinfo read."""
    grants = Grant.__table__.c
    return (
        select(grants.claims_request)
        .where(grants.tenant_id == tenant_id, grants.id == bindparam("grant_id"))
        .scalar_subquery()
        .label("claims_request")
    )
