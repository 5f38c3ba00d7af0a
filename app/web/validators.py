"""WTForms validators that apply the services' own rules, so a hosted form, the console,
the admin API and the services all say the same thing about the same input."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.validators import Length
from wtforms.validators import ValidationError

from app.services.errors import ValidationFailed
from app.services.names import MAX_NAME_LENGTH
from app.services.names import clean_name
from app.services.password_policy import MAX_LENGTH as PASSWORD_MAX_LENGTH


def display_name(form, field) -> None:
    """A person's or thing's name: NFC, no control or bidi characters (app.services.names).
    The field keeps the normalised text."""
    try:
        field.data = clean_name(field.data, field.name, max_length=MAX_NAME_LENGTH)
    except ValidationFailed as exc:
        raise ValidationError(exc.errors[field.name]) from exc


def new_password_length() -> Length:
    """The service's maximum, also rendered as the input's ``maxlength`` (never a lower
    one that would silently cut a pasted password); the minimum is the tenant's."""
    return Length(
        max=PASSWORD_MAX_LENGTH,
        message=_l("Use at most %(max)d characters.", max=PASSWORD_MAX_LENGTH),
    )
