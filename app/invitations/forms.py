"""Forms of the invitation pages (hosted field names: ``name``, ``password``)."""

from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Length


class AcceptInvitationForm(FlaskForm):
    """A new person accepts: their name and a password (the email is the invitation's)."""

    name = StringField("Your name", validators=[Length(max=200)])
    password = PasswordField("Choose a password", validators=[DataRequired(), Length(max=128)])


class ConfirmForm(FlaskForm):
    """A bare CSRF-protected button (accept while signed in, sign out)."""
