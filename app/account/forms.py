"""Forms of the account pages (field names per DESIGN §3)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms import StringField
from wtforms import SubmitField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from app.web.validators import display_name
from app.web.validators import new_password_length


class ProfileForm(FlaskForm):
    name = StringField(_l("Display name"), validators=[display_name])
    submit = SubmitField(_l("Save profile"))


class ChangePasswordForm(FlaskForm):
    password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password.")), Length(max=1024)],
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Choose a new password.")), new_password_length()],
    )
    submit = SubmitField(_l("Change password"))


class DeleteAccountForm(FlaskForm):
    """Erasing the account asks for the password again (when the account has one)."""

    password = PasswordField(_l("Your password"), validators=[Length(max=1024)])
    submit = SubmitField(_l("Delete my account"))
