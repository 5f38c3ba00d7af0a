"""SQLAlchemy models, one module per aggregate; imported here so metadata is complete."""

from app.models.admin_key import AdminApiKey
from app.models.audit import AuditEvent
from app.models.client import Client
from app.models.client import Consent
from app.models.device import DeviceAuthorization
from app.models.email_template import EmailTemplate
from app.models.flow_state import FlowState
from app.models.import_job import ImportJob
from app.models.invitation import EmailToken
from app.models.invitation import Invitation
from app.models.key import SigningKey
from app.models.login_code import LoginCode
from app.models.logo import TenantLogo
from app.models.logout import LogoutDelivery
from app.models.mail import Job
from app.models.mail import OutboxMessage
from app.models.mfa import MfaFactor
from app.models.mfa import RecoveryCode
from app.models.org import Membership
from app.models.org import MembershipRole
from app.models.org import Organization
from app.models.provider import LinkedIdentity
from app.models.provider import UpstreamProvider
from app.models.registration import ClientRegistration
from app.models.registration import InitialAccessToken
from app.models.resource import ClientResourceGrant
from app.models.resource import Resource
from app.models.resource import RolePermission
from app.models.session import AuthorizationCode
from app.models.session import BrowserSession
from app.models.session import Grant
from app.models.session import RefreshToken
from app.models.session import RevokedAccessToken
from app.models.sso import Connection
from app.models.sso import ConnectionIdentity
from app.models.sso import OrgDomain
from app.models.sso import ScimToken
from app.models.sso import ScimUser
from app.models.sso import SeenAssertion
from app.models.tenant import SYSTEM_SLUG
from app.models.tenant import CustomDomain
from app.models.tenant import Tenant
from app.models.usage import DailyUsage
from app.models.user import Role
from app.models.user import User
from app.models.user import UserRole
from app.models.webhook import Event
from app.models.webhook import WebhookDelivery
from app.models.webhook import WebhookEndpoint

__all__ = [
    "SYSTEM_SLUG",
    "AdminApiKey",
    "AuditEvent",
    "AuthorizationCode",
    "BrowserSession",
    "Client",
    "ClientRegistration",
    "ClientResourceGrant",
    "Connection",
    "ConnectionIdentity",
    "Consent",
    "CustomDomain",
    "DailyUsage",
    "DeviceAuthorization",
    "EmailTemplate",
    "EmailToken",
    "Event",
    "FlowState",
    "Grant",
    "Job",
    "ImportJob",
    "InitialAccessToken",
    "Invitation",
    "LinkedIdentity",
    "LoginCode",
    "LogoutDelivery",
    "Membership",
    "MembershipRole",
    "MfaFactor",
    "OrgDomain",
    "Organization",
    "OutboxMessage",
    "RecoveryCode",
    "RefreshToken",
    "Resource",
    "RevokedAccessToken",
    "Role",
    "RolePermission",
    "ScimToken",
    "ScimUser",
    "SeenAssertion",
    "SigningKey",
    "Tenant",
    "TenantLogo",
    "UpstreamProvider",
    "User",
    "UserRole",
    "WebhookDelivery",
    "WebhookEndpoint",
]
