"""Enterprise SSO of organizations: /sso/saml/<id>/{metadata,login,acs} and
/sso/oidc/<id>/{login,callback}."""

from flask import Blueprint

bp = Blueprint("sso", __name__)

from app.sso import oidc  # noqa: E402,F401
from app.sso import routes  # noqa: E402,F401
