"""The ``/device`` form: field ``user_code`` (DESIGN §3)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Length


class DeviceCodeForm(FlaskForm):
    user_code = StringField(
        _l("Code"),
        validators=[DataRequired(_l("Enter the code shown on your device.")), Length(max=40)],
    )
