"""Forms of the invitation pages (hosted field names: ``name``, ``password``)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import DataRequired

from app.web.validators import display_name
from app.web.validators import new_password_length


class AcceptInvitationForm(FlaskForm):
    """A new person accepts: their name and a password (the email is the invitation's)."""

    name = StringField(_l("Your name"), validators=[display_name])
    password = PasswordField(
        _l("Choose a password"),
        validators=[DataRequired(_l("Choose a password.")), new_password_length()],
    )


class ConfirmForm(FlaskForm):
    """A bare CSRF-protected button (accept while signed in, sign out)."""
