"""Routes of the admin blueprint: one module per console page (imported for their routes)."""

from app.admin import access  # noqa: F401  (guard and URL processors first)
from app.admin import api_keys  # noqa: F401
from app.admin import audit  # noqa: F401
from app.admin import clients  # noqa: F401
from app.admin import domains  # noqa: F401
from app.admin import email_templates  # noqa: F401
from app.admin import imports  # noqa: F401
from app.admin import invitations  # noqa: F401
from app.admin import keys  # noqa: F401
from app.admin import orgs  # noqa: F401
from app.admin import overview  # noqa: F401
from app.admin import providers  # noqa: F401
from app.admin import registration  # noqa: F401
from app.admin import resources  # noqa: F401
from app.admin import roles  # noqa: F401
from app.admin import sessions  # noqa: F401
from app.admin import settings  # noqa: F401
from app.admin import sso  # noqa: F401
from app.admin import tenants  # noqa: F401
from app.admin import usage  # noqa: F401
from app.admin import users  # noqa: F401
from app.admin import webhooks  # noqa: F401
