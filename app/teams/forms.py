"""Forms for joining a team and managing teams and invites (Flask-WTF: every one carries a CSRF token)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, StringField, TelField
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional


class JoinForm(FlaskForm):
    display_name = StringField(_l("Display name (shown to others)"), validators=[DataRequired(), Length(max=80)])
    phone = TelField(_l("Mobile number"), validators=[DataRequired(), Length(max=32)])
    code = StringField(_l("Code from the text message"), validators=[Length(max=12)])
    password = PasswordField(
        _l("Password (at least 8 characters)"), validators=[DataRequired(), Length(min=8, max=200)]
    )
    confirm = PasswordField(
        _l("Password again"), validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))]
    )


class InviteForm(FlaskForm):
    days = IntegerField(_l("Valid for (days)"), default=7, validators=[DataRequired(), NumberRange(1, 90)])
    max_uses = IntegerField(_l("Maximum joins (empty: no limit)"), validators=[Optional(), NumberRange(1, 10000)])


class TeamForm(FlaskForm):
    name = StringField(_l("Team name"), validators=[DataRequired(), Length(max=80)])
    slogan = StringField(_l("Slogan"), validators=[Length(max=200)])
    requires_approval = BooleanField(_l("New members need a coordinator's approval before they can report"))
