"""WebAuthn passkeys (W3C WebAuthn Level 3) with py_webauthn: registration and
authentication ceremonies for one tenant.

The relying party id is the tenant's host name (WebAuthn §5.1.3: an RP ID is a
registrable domain suffix of the origin's effective domain, without port); the
expected origin is the tenant's canonical origin without any ``/t/<slug>`` path, since
a browser origin is scheme, host and port only. Challenges are created here and kept
by the caller (in the signed Flask session) until the matching verification.

Credentials are stored on ``MfaFactor(kind="webauthn")``: the credential id and
COSE public key as base64url, and the signature counter (§6.1.1), which must grow
unless the authenticator does not implement one (it then stays 0).
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from flask_babel import gettext as _
from webauthn import generate_authentication_options
from webauthn import generate_registration_options
from webauthn import options_to_json
from webauthn import verify_authentication_response
from webauthn import verify_registration_response
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import AuthenticatorSelectionCriteria
from webauthn.helpers.structs import PublicKeyCredentialDescriptor
from webauthn.helpers.structs import ResidentKeyRequirement
from webauthn.helpers.structs import UserVerificationRequirement

from app.extensions import db
from app.models import MfaFactor
from app.models import Tenant
from app.models import User
from app.models.base import utcnow
from app.services import audit
from app.services.errors import ValidationFailed
from app.services.settings import display_name
from app.tenancy import scope
from app.tenancy import tenant_origin

TIMEOUT_MS = 120_000


def relying_party(tenant: Tenant) -> tuple[str, str]:
    """``(rp_id, expected_origin)`` for a tenant, from its configured origin only."""
    parts = urlsplit(tenant_origin(tenant))
    return parts.hostname or "", f"{parts.scheme}://{parts.netloc}"


def _credentials(tenant: Tenant, user: User) -> list[MfaFactor]:
    return scope(tenant).all(
        MfaFactor,
        MfaFactor.user_id == user.id,
        MfaFactor.kind == "webauthn",
        MfaFactor.confirmed_at.is_not(None),
    )


def _descriptors(factors: list[MfaFactor]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=base64url_to_bytes(f.credential_id)) for f in factors]


def registration_options(tenant: Tenant, user: User) -> tuple[dict, str]:
    """Options for ``navigator.credentials.create()`` (as JSON-ready dict) and the
    challenge (base64url) to keep for :func:`register`."""
    rp_id, _origin = relying_party(tenant)
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=display_name(tenant),
        user_id=user.id.encode(),  # the user handle: opaque, not personal data
        user_name=user.email,
        user_display_name=user.name or user.email,
        timeout=TIMEOUT_MS,
        # A discoverable credential can later sign in without a password.
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(_credentials(tenant, user)),
    )
    return json.loads(options_to_json(options)), bytes_to_base64url(options.challenge)


def register(
    tenant: Tenant, user: User, credential: dict, challenge: str, name: str = ""
) -> MfaFactor:
    """Verify an attestation response and store the new credential; raises ValidationFailed."""
    rp_id, origin = relying_party(tenant)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp_id,
            expected_origin=origin,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise ValidationFailed(
            {"credential": _("The passkey could not be verified: %(reason)s", reason=exc)}
        ) from exc
    credential_id = bytes_to_base64url(verified.credential_id)
    if scope(tenant).first(MfaFactor, MfaFactor.credential_id == credential_id):
        raise ValidationFailed({"credential": _("This passkey is already registered.")})
    factor = scope(tenant).add(
        MfaFactor(
            user_id=user.id,
            kind="webauthn",
            name=(name or "Passkey").strip()[:100] or "Passkey",
            credential_id=credential_id,
            public_key=bytes_to_base64url(verified.credential_public_key),
            sign_count=verified.sign_count,
            confirmed_at=utcnow(),
        )
    )
    db.session.flush()
    audit.record(tenant, "mfa.passkey_registered", target_type="user", target_id=user.id)
    return factor


def authentication_options(tenant: Tenant, user: User | None) -> tuple[dict, str]:
    """Options for ``navigator.credentials.get()`` and the challenge to keep.

    With a user (second factor) only their credentials are allowed; without one
    (passwordless) the browser offers discoverable credentials and the user must be
    verified by the authenticator.
    """
    rp_id, _origin = relying_party(tenant)
    options = generate_authentication_options(
        rp_id=rp_id,
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(_credentials(tenant, user)) if user else [],
        user_verification=(
            UserVerificationRequirement.PREFERRED if user else UserVerificationRequirement.REQUIRED
        ),
    )
    return json.loads(options_to_json(options)), bytes_to_base64url(options.challenge)


def authenticate(
    tenant: Tenant, credential: dict, challenge: str, *, user: User | None = None
) -> MfaFactor:
    """Verify an assertion; returns the passkey factor used. With ``user`` the
    credential must be theirs; without (passwordless) user verification is required.
    Raises ValidationFailed on any mismatch."""
    rp_id, origin = relying_party(tenant)
    raw_id = (
        credential.get("rawId") or credential.get("id") if isinstance(credential, dict) else None
    )
    factor = None
    if isinstance(raw_id, str) and len(raw_id) <= 1400:
        factor = scope(tenant).first(
            MfaFactor,
            MfaFactor.kind == "webauthn",
            MfaFactor.credential_id == raw_id,
            MfaFactor.confirmed_at.is_not(None),
        )
    if factor is None or (user is not None and factor.user_id != user.id):
        raise ValidationFailed({"credential": _("This passkey is not registered here.")})
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=base64url_to_bytes(factor.public_key or ""),
            credential_current_sign_count=factor.sign_count,
            require_user_verification=user is None,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise ValidationFailed(
            {"credential": _("The passkey could not be verified: %(reason)s", reason=exc)}
        ) from exc
    factor.sign_count = verified.new_sign_count
    factor.last_used_at = utcnow()
    return factor
