"""Forms of the account pages (field names per DESIGN §3)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms import StringField
from wtforms import SubmitField
from wtforms.validators import DataRequired
from wtforms.validators import Length

from app.web.validators import display_name
from app.web.validators import new_password_length


class ProfileForm(FlaskForm):
    name = StringField("Display name", validators=[display_name])
    submit = SubmitField("Save profile")


class ChangePasswordForm(FlaskForm):
    password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password."), Length(max=1024)],
    )
    new_password = PasswordField(
        "New password", validators=[DataRequired("Choose a new password."), new_password_length()]
    )
    submit = SubmitField("Change password")
