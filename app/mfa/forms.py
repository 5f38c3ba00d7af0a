"""Forms of the second-factor pages (field ``code`` for one-time codes, DESIGN §3)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Length


class ChallengeForm(FlaskForm):
    """A TOTP code or a recovery code."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(message=_l("Enter the code.")), Length(max=32)],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"},
    )


class EnrollForm(FlaskForm):
    """The first code from the authenticator app, confirming the enrolment."""

    code = StringField(
        _l("Code from the app"),
        validators=[DataRequired(message=_l("Enter the 6-digit code.")), Length(max=16)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class RecoveryCodesForm(FlaskForm):
    """Generate (or replace) the recovery codes: a CSRF-protected button."""
