"""Login and token forms (Flask-WTF, so every one carries a CSRF token)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, TelField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=40)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me logged in on this phone"), default=True)


class SmsLoginForm(FlaskForm):
    phone = TelField(_l("Mobile number"), validators=[DataRequired(), Length(max=40)])
    code = StringField(_l("Code from the text message"), validators=[Length(max=12)])


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(
        _l("Repeat the password"), validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))]
    )


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[Length(max=80)])


class EmptyForm(FlaskForm):
    """A form with only its CSRF token, for buttons that post."""
