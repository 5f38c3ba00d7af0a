"""The rules of signing in with an upstream identity provider.

- Identities are keyed by (provider, upstream subject), never by email: a known identity
  signs its user in, whatever email the provider now reports.
- An unknown identity whose *verified* email matches an existing account is not linked
  silently: :class:`LinkRequired` asks the person to prove they own that account (by
  signing in to it); only then does :func:`link_identity` create the link.
- An unverified upstream email never takes over an existing account.
- Otherwise the account is created just in time, if the tenant's sign-up mode is open and
  the email domain is allowed; ``email_verified`` is copied from the provider.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from app.extensions import db
from app.models import Tenant
from app.models import User
from app.models.mfa import MfaFactor
from app.models.provider import LinkedIdentity
from app.models.provider import UpstreamProvider
from app.services import audit
from app.services import email_tokens
from app.services import orgs
from app.services import users
from app.services.authn import signup_refusal
from app.services.errors import Conflict
from app.services.errors import NotFound
from app.services.errors import PermissionDenied
from app.services.errors import ServiceError
from app.services.integrity import flush_unique
from app.services.settings import email_domain_allowed
from app.services.settings import get_settings
from app.tenancy import scope


@dataclass(frozen=True)
class Profile:
    """What the provider says about the person (validated claims)."""

    subject: str
    email: str | None
    email_verified: bool
    name: str = ""


class Refused(ServiceError):
    """The upstream sign-in is not allowed; ``message`` tells the person why."""

    status = 403
    title = "Sign-in refused"  # the page (upstream/refused.html) says it in its language


class LinkRequired(ServiceError):
    """A verified upstream email matches an existing account: sign in to it to link."""

    status = 409
    title = "Link your account"

    def __init__(self, user: User):
        super().__init__(
            _(
                "An account with this email address already exists. Sign in to it once to "
                "link this identity; afterwards either way signs you in."
            )
        )
        self.user = user


def refuse(tenant: Tenant, provider: UpstreamProvider, reason: str, message: str, **data):
    """Audit ``upstream.refused`` and return the Refused error for the caller to raise."""
    audit.record(
        tenant,
        "upstream.refused",
        target_type="provider",
        target_id=provider.id,
        reason=reason,
        **data,
    )
    db.session.flush()
    return Refused(message, reason=reason)


def find_identity(tenant: Tenant, provider: UpstreamProvider, subject: str):
    return scope(tenant).first(
        LinkedIdentity,
        LinkedIdentity.provider_id == provider.id,
        LinkedIdentity.subject == subject,
    )


def sign_in_with(
    tenant: Tenant, provider: UpstreamProvider, profile: Profile, *, _retried: bool = False
) -> User:
    """The user this upstream identity signs in (created just in time if allowed).

    Raises :class:`LinkRequired` or :class:`Refused`.
    """
    identity = find_identity(tenant, provider, profile.subject)
    if identity is not None:
        user = scope(tenant).get(User, identity.user_id)
        if user is None or not user.is_active:
            raise refuse(tenant, provider, "disabled", _("This account is disabled."))
        if profile.email:
            identity.email = profile.email[:320]
        _check_verified(tenant, provider, user)
        _record_signin(tenant, provider, user, created=False)
        return user
    existing = users.find_by_email(tenant, profile.email) if profile.email else None
    if existing is not None:
        if not profile.email_verified:
            raise refuse(
                tenant,
                provider,
                "unverified_email",
                _(
                    "%(provider)s has not verified this email address, and an account with "
                    "it already exists here. Sign in with that account instead.",
                    provider=provider.name,
                ),
                user_id=existing.id,
            )
        raise LinkRequired(existing)
    try:
        return _create_user(tenant, provider, profile)
    except Conflict:
        if _retried:
            raise
        # A concurrent sign-in created this account first (the transaction was rolled
        # back): answer as the second of two sequential sign-ins would.
        return sign_in_with(tenant, provider, profile, _retried=True)


def _create_user(tenant: Tenant, provider: UpstreamProvider, profile: Profile) -> User:
    refusal = signup_refusal(tenant)
    if refusal:
        raise refuse(
            tenant,
            provider,
            "signup_closed",
            _("There is no account for you here. %(reason)s", reason=refusal),
        )
    if not profile.email:
        raise refuse(
            tenant,
            provider,
            "no_email",
            _("%(provider)s did not share your email address.", provider=provider.name),
        )
    if not email_domain_allowed(tenant, users.normalize_email(profile.email)):
        domains = ", ".join(get_settings(tenant)["allowed_email_domains"])
        raise refuse(
            tenant,
            provider,
            "domain",
            _("Sign-up is limited to addresses at %(domains)s.", domains=domains),
        )
    user = users.create_user(
        tenant,
        profile.email,
        name=profile.name[:200],
        password=None,
        email_verified=profile.email_verified,
        audit_action="signup",
    )
    _add_identity(tenant, provider, user, profile)
    if user.email_verified:
        orgs.auto_join(tenant, user)
    _check_verified(tenant, provider, user)
    _record_signin(tenant, provider, user, created=True)
    return user


def _check_verified(tenant: Tenant, provider: UpstreamProvider, user: User) -> None:
    """Where the tenant requires verified addresses, an unverified one gets a link first."""
    if user.email_verified or not get_settings(tenant)["require_email_verification"]:
        return
    email_tokens.send_verification(tenant, user)
    raise refuse(
        tenant,
        provider,
        "email_not_verified",
        _(
            "Confirm your email address first: open the link we just emailed you, then sign in "
            "again."
        ),
        user_id=user.id,
    )


def _add_identity(tenant, provider, user, profile) -> LinkedIdentity:
    identity = scope(tenant).add(
        LinkedIdentity(
            provider_id=provider.id,
            user_id=user.id,
            subject=profile.subject,
            email=(profile.email or "")[:320] or None,
        )
    )
    flush_unique(Conflict("This identity is already linked to an account.", field="subject"))
    return identity


def _record_signin(tenant, provider, user, *, created: bool) -> None:
    audit.record(
        tenant,
        "upstream.signin",
        target_type="user",
        target_id=user.id,
        provider_id=provider.id,
        created=created or None,
    )


def link_identity(
    tenant: Tenant, provider: UpstreamProvider, user: User, profile: Profile
) -> LinkedIdentity:
    """Link the upstream identity to ``user`` (who has proved they own the account).

    Raises Refused when the identity already belongs to another account.
    """
    identity = find_identity(tenant, provider, profile.subject)
    if identity is not None:
        if identity.user_id != user.id:
            raise refuse(
                tenant,
                provider,
                "linked_elsewhere",
                _(
                    "This %(provider)s identity is already linked to another account.",
                    provider=provider.name,
                ),
            )
        return identity
    identity = _add_identity(tenant, provider, user, profile)
    # The provider vouches for the same address: it counts as verified here too.
    if (
        profile.email_verified
        and users.normalize_email(profile.email or "", strict=False) == user.email
    ):
        user.email_verified = True
    audit.record(
        tenant,
        "upstream.linked",
        target_type="user",
        target_id=user.id,
        provider_id=provider.id,
        identity_id=identity.id,
    )
    return identity


def identities_of(tenant: Tenant, user: User) -> list[tuple[LinkedIdentity, UpstreamProvider]]:
    """The user's linked identities with their providers, oldest first."""
    rows = scope(tenant).all(
        LinkedIdentity, LinkedIdentity.user_id == user.id, order_by=LinkedIdentity.id
    )
    return [(row, scope(tenant).get(UpstreamProvider, row.provider_id)) for row in rows]


def can_unlink(tenant: Tenant, user: User, identity: LinkedIdentity) -> bool:
    """True when another way to sign in remains: a password, another identity or a passkey."""
    if user.password_hash:
        return True
    others = scope(tenant).count(
        LinkedIdentity, LinkedIdentity.user_id == user.id, LinkedIdentity.id != identity.id
    )
    passkeys = scope(tenant).count(
        MfaFactor, MfaFactor.user_id == user.id, MfaFactor.kind == "webauthn"
    )
    return bool(others or passkeys)


def unlink_identity(tenant: Tenant, user: User, identity_id: str) -> None:
    """Remove one of the user's identities; refused when it is their last way in."""
    identity = scope(tenant).first(
        LinkedIdentity, LinkedIdentity.id == identity_id, LinkedIdentity.user_id == user.id
    )
    if identity is None:
        raise NotFound("No such linked identity.")
    if not can_unlink(tenant, user, identity):
        raise PermissionDenied(
            _("This is your only way to sign in. Set a password or add a passkey first.")
        )
    audit.record(
        tenant,
        "upstream.unlinked",
        target_type="user",
        target_id=user.id,
        provider_id=identity.provider_id,
        identity_id=identity.id,
    )
    db.session.delete(identity)
    db.session.flush()
