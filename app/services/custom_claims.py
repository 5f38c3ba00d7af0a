"""Custom claims: the tenant setting ``custom_claims`` maps claim names to keys of the
user's ``metadata``, and those claims go into the user's ID and access tokens.

Names never collide with a claim that means something: a name is either namespaced (an
absolute ``https://`` URI, as OIDC Core §5.1.2 recommends for private claims) or a plain
name outside every registered or reserved one (the IANA "JSON Web Token Claims" registry,
OIDC's standard claims, and Gatehouse's own: ``tenant_id``, ``org_id``, ``roles``, …).
A mapped key the user's metadata lacks is simply left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MAX_CLAIMS = 20
MAX_KEY = 100
# IANA JWT claims registry, OIDC Core §5.1 standard claims and ID-token claims, RFC 9068,
# RFC 8693, RFC 7800, RFC 9449, and the claims Gatehouse itself puts in tokens.
RESERVED_CLAIMS = frozenset(
    [
        "iss",
        "sub",
        "aud",
        "exp",
        "nbf",
        "iat",
        "jti",
        "name",
        "given_name",
        "family_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "email",
        "email_verified",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "phone_number",
        "phone_number_verified",
        "address",
        "updated_at",
        "azp",
        "nonce",
        "auth_time",
        "at_hash",
        "c_hash",
        "s_hash",
        "acr",
        "amr",
        "sub_jwk",
        "cnf",
        "sid",
        "scope",
        "scp",
        "client_id",
        "may_act",
        "act",
        "roles",
        "groups",
        "entitlements",
        "permissions",
        "tenant_id",
        "org_id",
        "org_ids",
        "idp",
        "typ",
        "kid",
        "alg",
        "events",
        "toe",
        "txn",
        "rph",
        "vot",
        "vtm",
        "attest",
        "origid",
        "orig",
        "dest",
        "mky",
        "jcard",
        "at_use_nbr",
        "div",
        "opt",
        "vc",
        "vp",
        "sph",
        "ace_profile",
        "cnonce",
        "exi",
        "htm",
        "htu",
        "ath",
        "nonce_hash",
        "sip_callid",
        "sip_cseq_num",
        "sip_date",
        "sip_from_tag",
        "sip_via_branch",
        "token_introspection",
        "authorization_details",
    ]
)
_PLAIN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}")
_NAMESPACED_RE = re.compile(r"https://[A-Za-z0-9.\-]+(?::\d+)?/[A-Za-z0-9\-._~/]{1,180}")


def claim_name_problem(name) -> str | None:
    """Why ``name`` cannot be a custom claim, or None."""
    if not isinstance(name, str) or not name:
        return "a claim name is a non-empty string"
    if name.startswith("https://"):
        if not _NAMESPACED_RE.fullmatch(name):
            return (
                f"{name[:80]!r}: a namespaced claim is https://host/path (letters, digits, -._~/)"
            )
        return None
    if not _PLAIN_RE.fullmatch(name):
        return (
            f"{name[:80]!r}: use https://your-domain/name, or a plain name of letters, "
            "digits, '_', '.', '-' (at most 64)"
        )
    if name.lower() in RESERVED_CLAIMS:
        return f"{name!r} is a standard or reserved claim and cannot be overridden"
    return None


def validate_mapping(value) -> tuple[dict[str, str], str | None]:
    """The cleaned ``{claim name: metadata key}`` mapping and the first problem, if any."""
    if not isinstance(value, dict):
        return {}, "must be an object: claim name → metadata key"
    if len(value) > MAX_CLAIMS:
        return {}, f"at most {MAX_CLAIMS} custom claims"
    cleaned: dict[str, str] = {}
    for name, key in value.items():
        problem = claim_name_problem(name)
        if problem:
            return {}, problem
        if not isinstance(key, str) or not key or len(key) > MAX_KEY:
            return {}, f"{name}: the metadata key is a string of 1 to {MAX_KEY} characters"
        cleaned[name] = key
    return cleaned, None


def claims_for(mapping: Mapping[str, str] | None, metadata: Mapping | None) -> dict:
    """The custom claims of a user: each mapped metadata key the user has. Names are checked
    again here, so a stored mapping can never put a reserved claim in a token."""
    if not mapping or not isinstance(metadata, Mapping):
        return {}
    return {
        name: metadata[key]
        for name, key in mapping.items()
        if key in metadata and claim_name_problem(name) is None
    }
