"""Forms shared by the user-facing blueprints."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    Length,
    StopValidation,
    ValidationError,
)

from models import LANGUAGES
from rules import passwords

LANGUAGE_CHOICES = [SelectChoice(code, name) for code, (_short, name) in LANGUAGES.items()]


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for one-button POSTs."""


INCOMPLETE = _l("The form is incomplete. Reload the page and try again.")


class Sent:
    """The field must be in the request, even empty (a form of the page always sends it)."""

    def __init__(self, message=INCOMPLETE):
        self.message = message

    def __call__(self, form, field):
        if not field.raw_data:
            field.errors[:] = []
            raise StopValidation(self.message)


class AcceptablePassword:
    """Check a new password against the policy in rules.passwords."""

    def __init__(self, email_field=None):
        self.email_field = email_field

    def __call__(self, form, field):
        email = form[self.email_field].data if self.email_field else None
        problem = passwords.password_problem(field.data or "", email=email)
        if problem:
            raise ValidationError(problem)


def _email_field(label):
    return EmailField(
        label,
        validators=[
            DataRequired(_l("Enter your email address.")),
            Length(max=254),
            Email(_l("Enter a valid email address.")),
        ],
        render_kw={"autocomplete": "email"},
    )


def _new_password_fields(email_field=None, label=None):
    password = PasswordField(
        label or _l("New password"),
        validators=[DataRequired(_l("Enter a password.")), AcceptablePassword(email_field)],
        render_kw={"autocomplete": "new-password", "minlength": passwords.MIN_LENGTH},
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[EqualTo("password", _l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    return password, confirm


class LoginForm(FlaskForm):
    email = _email_field(_l("Email"))
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=passwords.MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class SignupForm(FlaskForm):
    email = _email_field(_l("Email"))
    name = StringField(
        _l("Name"),
        validators=[DataRequired(_l("Enter your name.")), Length(max=120)],
        render_kw={"autocomplete": "name"},
    )
    password, confirm = _new_password_fields("email", label=_l("Password"))
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="bg")
    next = HiddenField()


class ForgotPasswordForm(FlaskForm):
    email = _email_field(_l("Email"))


class ResetPasswordForm(FlaskForm):
    password, confirm = _new_password_fields()


class ProfileForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Enter your name.")), Length(max=120)]
    )
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    password, confirm = _new_password_fields()


class ChangeEmailForm(FlaskForm):
    email = _email_field(_l("New email"))
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )


class LanguageForm(FlaskForm):
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    next = HiddenField()


class ReauthenticateForm(FlaskForm):
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=passwords.MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()
