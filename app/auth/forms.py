"""Forms of the hosted pages. Field names are stable (DESIGN §3): email, password,
name, code, csrf_token; ``next`` rides along hidden and is validated where it is used."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField
from wtforms import HiddenField
from wtforms import PasswordField
from wtforms import StringField
from wtforms import SubmitField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import ValidationError

from app.services import authn
from app.services import users
from app.services.errors import ValidationFailed
from app.services.password_policy import password_problems
from app.tenancy import current_tenant
from app.web.forms import PageForm
from app.web.validators import display_name
from app.web.validators import new_password_length


class LoginForm(PageForm):
    email = EmailField(
        _l("Email"), validators=[DataRequired(_l("Enter your email address.")), Length(max=320)]
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=1024)]
    )
    next = HiddenField()
    submit = SubmitField(_l("Sign in"))


class SignupForm(PageForm):
    """Every field is checked by the services' own rules, so all errors show at once."""

    name = StringField(_l("Name"), validators=[display_name])
    email = EmailField(
        _l("Email"), validators=[DataRequired(_l("Enter your email address.")), Length(max=320)]
    )
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Choose a password.")), new_password_length()]
    )
    next = HiddenField()
    submit = SubmitField(_l("Create account"))

    def validate_email(self, field):
        try:
            users.normalize_email(field.data)
        except ValidationFailed as exc:
            raise ValidationError(exc.errors["email"]) from exc
        refusal = authn.signup_email_problem(current_tenant, field.data)
        if refusal:
            raise ValidationError(refusal)

    def validate_password(self, field):
        problems = password_problems(current_tenant, field.data, self.email.data or "")
        if problems:
            raise ValidationError(" ".join(problems))


class ForgotPasswordForm(PageForm):
    email = EmailField(
        _l("Email"), validators=[DataRequired(_l("Enter your email address.")), Length(max=320)]
    )
    submit = SubmitField(_l("Email me a reset link"))


class ResetPasswordForm(PageForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Choose a new password.")), new_password_length()],
    )
    submit = SubmitField(_l("Set new password"))


class ConfirmForm(PageForm):
    """A form with only its CSRF token: sign out, resend verification, end a session."""

    submit = SubmitField(_l("Continue"))


def apply_errors(form: PageForm, errors: dict[str, str]) -> str:
    """Put a service's per-field errors next to the form's fields; returns what is left
    over (errors for no field of this form) as one message for the top of the form."""
    leftover = []
    for name, message in errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors") and name != "csrf_token":
            field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
        else:
            leftover.append(message)
    return " ".join(leftover)


class EmailCodeRequestForm(PageForm):
    """Ask for a one-time code or a magic link (``method``: email_code or magic_link)."""

    email = EmailField(
        _l("Email"), validators=[DataRequired(_l("Enter your email address.")), Length(max=320)]
    )
    method = HiddenField()
    next = HiddenField()


class EmailCodeForm(PageForm):
    """The emailed 6-digit code (field ``code``); ``email`` rides along for the
    per-account rate limit."""

    code = StringField(
        _l("Code"), validators=[DataRequired(_l("Enter the code from the email.")), Length(max=12)]
    )
    email = HiddenField()
    next = HiddenField()
