"""Login and token forms (Flask-WTF, so every one carries a CSRF token)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=40)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me logged in on this phone"), default=True)


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[Length(max=80)])


class EmptyForm(FlaskForm):
    """A form with only its CSRF token, for buttons that post."""
