"""The OAuth 2.0 Device Authorization Grant (RFC 8628), on the shared Authlib server.

* ``POST /oauth2/device_authorization`` (:class:`DeviceAuthorization`, an Authlib
  endpoint): the client authenticates as at the token endpoint (public clients with
  ``none``), must hold the device grant type, asks for ``scope`` and optionally
  ``resource`` (RFC 8707); it gets a device code, a user code and the tenant's ``/device``
  page on its canonical origin (never from the request's Host).
* ``grant_type=urn:ietf:params:oauth:grant-type:device_code`` at ``/oauth2/token``
  (:class:`DeviceCodeGrant`): ``authorization_pending``, ``slow_down``,
  ``access_denied``, ``expired_token``, then once the same tokens as a code exchange,
  bound to the approving browser session; a second poll is ``invalid_grant``.

The rules live in app/services/device_codes.py; the page is app/device/.
"""

from __future__ import annotations

from authlib.common.urls import add_params_to_uri
from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749 import AccessDeniedError
from authlib.oauth2.rfc6749 import InvalidGrantError
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749 import UnauthorizedClientError
from authlib.oauth2.rfc6749.hooks import hooked
from authlib.oauth2.rfc8628 import DEVICE_CODE_GRANT_TYPE
from authlib.oauth2.rfc8628 import AuthorizationPendingError
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint
from authlib.oauth2.rfc8628 import DeviceCodeGrant as _DeviceCodeGrant
from authlib.oauth2.rfc8628 import ExpiredTokenError
from authlib.oauth2.rfc8628 import SlowDownError
from flask import Flask

from app.models import User
from app.oauth import dpop
from app.oauth.errors import InvalidTargetError
from app.oauth.grants import CLIENT_AUTH_METHODS
from app.oauth.grants import invalid_target
from app.oauth.grants import requested_resource
from app.services import audiences
from app.services import device_codes
from app.services import grants as grants_service
from app.services import issuance
from app.services.resource_config import resource_config
from app.tenancy import current_tenant
from app.tenancy import issuer_for
from app.tenancy import scope

_ERRORS = {
    "authorization_pending": AuthorizationPendingError,
    "slow_down": SlowDownError,
    "expired_token": ExpiredTokenError,
    "access_denied": AccessDeniedError,
    "invalid_grant": InvalidGrantError,
}


def _oauth_error(exc: device_codes.DeviceError):
    return _ERRORS[exc.error](description=exc.description)


def verification_uri(tenant) -> str:
    """The tenant's ``/device`` page on its canonical origin (its issuer)."""
    return f"{issuer_for(tenant)}/device"


class DeviceAuthorization(DeviceAuthorizationEndpoint):
    """RFC 8628 §3.1–3.2."""

    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def create_endpoint_response(self, request):
        client = self.authenticate_client(request)  # invalid_client (counted) on failure
        if not client.check_grant_type(DEVICE_CODE_GRANT_TYPE):
            raise UnauthorizedClientError("This client may not use the device authorization grant.")
        tenant = current_tenant._get_current_object()
        asked = request.payload.data.get("scope")
        allowed = client.get_allowed_scope(asked if asked is not None else client.row.scope)
        # RFC 8707: the APIs asked for, this tenant's only; their asked permissions stay
        # in the scope beside the client's own scopes (as at /oauth2/authorize).
        requested = request._request.values.getlist("resource")
        if requested:
            config = resource_config(tenant)
            try:
                requested = list(audiences.resolve(config, requested))
                allowed = audiences.with_permissions(allowed, asked, config, requested)
            except audiences.InvalidTarget as exc:
                raise InvalidTargetError(str(exc)) from exc
            except audiences.ScopeTooLong as exc:
                raise InvalidRequestError(str(exc)) from exc
        _row, device_code, user_code = device_codes.start(tenant, client.row, allowed, requested)
        uri = verification_uri(tenant)
        shown = device_codes.display_user_code(user_code)
        body = {
            "device_code": device_code,
            "user_code": shown,
            "verification_uri": uri,
            "verification_uri_complete": add_params_to_uri(uri, [("user_code", shown)]),
            "expires_in": device_codes.EXPIRES_IN,
            "interval": device_codes.INTERVAL,
        }
        return 200, body, default_json_headers


class DeviceCodeGrant(_DeviceCodeGrant):
    """RFC 8628 §3.4–3.5 at the token endpoint."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def validate_token_request(self):
        device_code = self.request.payload.data.get("device_code")
        if not device_code:
            raise InvalidRequestError("device_code is required.")
        client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError("This client may not use the device authorization grant.")
        dpop.key_for_grant(self.request._request, client.row)  # before the code is polled
        # Another tenant's device code is not found here: invalid_grant, as an unknown one.
        row = device_codes.find_for_device(current_tenant, device_code)
        if row is None:
            raise InvalidGrantError("The device code is invalid.")
        try:
            device_codes.poll(current_tenant, row, client.row)
        except device_codes.DeviceError as exc:
            raise _oauth_error(exc) from exc
        self.request.client = client
        self.request.credential = row

    @hooked
    def create_token_response(self):
        tenant = current_tenant._get_current_object()
        client = self.request.client
        row = self.request.credential
        user = scope(tenant).get(User, row.user_id)
        if user is None or not user.is_active:
            raise InvalidGrantError("The user who approved this device is no longer active.")
        # RFC 8707 §2.2: only a resource named in the device authorization request,
        # checked before the authorization is used up.
        resource = requested_resource(self.request)
        if resource is not None and not audiences.granted(row.resources, resource)[0]:
            raise InvalidTargetError("The resource was not named in the device authorization.")
        try:
            session = device_codes.claim(tenant, row)  # exactly once
        except device_codes.DeviceError as exc:
            raise _oauth_error(exc) from exc
        grant = grants_service.start_grant(
            tenant,
            client.row,
            user_id=user.id,
            session_id=session.id,
            scope=row.scope,
            org_id=row.org_id,
            auth_time=session.auth_time,
            amr=list(session.amr or []),
            resources=list(row.resources or []),
        )
        device_codes.note_grant(row, grant.id)
        jkt = dpop.bound_jkt(self.request._request)
        with invalid_target():
            body = issuance.user_token_response(
                tenant,
                client.row,
                user,
                grant,
                include_refresh=client.check_grant_type("refresh_token"),
                resource=resource,
                jkt=jkt,
                refresh_jkt=dpop.refresh_key_for(client.row, jkt),
            )
        issuance.add_id_token(tenant, client.row, user, grant, body)
        self.request.user = user
        return 200, body, self.TOKEN_RESPONSE_HEADER


def init_app(app: Flask) -> None:
    """Register the grant and the endpoint with the shared server (once per process:
    it outlives each app the tests build)."""
    from app.oauth.server import authorization

    if "device_authorization" not in authorization._endpoints:
        authorization.register_endpoint(DeviceAuthorization)
    if not any(cls is DeviceCodeGrant for cls, _ext in authorization._token_grants):
        authorization.register_grant(DeviceCodeGrant)
