"""Admin forms (Flask-WTF, so every one carries a CSRF token); choices are filled in by the views."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional


class UserForm(FlaskForm):
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=80)])
    role = SelectField(_l("Role"))
    team_id = SelectField(_l("Team"), coerce=int)  # 0: no team
    department_id = SelectField(_l("Department"), coerce=int)  # 0: none
    active = BooleanField(_l("Active (may log in)"))


class NewUserForm(UserForm):
    active = None  # a new account is active; the field is for editing one
    username = StringField(_l("User name (to log in)"), validators=[DataRequired(), Length(max=40)])
    phone = StringField(_l("Mobile number (optional)"), validators=[Length(max=32)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(
        _l("Repeat the password"), validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))]
    )


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(
        _l("Repeat the password"), validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))]
    )


class CategoryForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name_zh = StringField(_l("Chinese name"), validators=[DataRequired(), Length(max=80)])
    name_en = StringField(_l("English name"), validators=[DataRequired(), Length(max=80)])
    icon = SelectField(_l("Icon"))
    hazard = BooleanField(_l("Safety hazard (urgent)"))
    # Text, checked by the service: a DecimalField lets "sNaN" through to a validator that crashes on it.
    accept_hours = StringField(_l("Hours to accept"), validators=[DataRequired(), Length(max=12)])
    resolve_hours = StringField(_l("Hours to resolve"), validators=[DataRequired(), Length(max=12)])
    default_department_id = SelectField(_l("Default department"), coerce=int)
    own_department = BooleanField(_l("Always its own department, wherever the report is"))
    sort_order = IntegerField(_l("Order in lists"), default=100, validators=[Optional(), NumberRange(0, 10000)])
    active = BooleanField(_l("Offered to riders"), default=True)


class DepartmentForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name_zh = StringField(_l("Chinese name"), validators=[DataRequired(), Length(max=80)])
    name_en = StringField(_l("English name"), validators=[DataRequired(), Length(max=80)])


class MemberForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=40)])


class TemplateForm(FlaskForm):
    target_status = SelectField(_l("For moves to"))
    text_zh = TextAreaField(_l("Chinese text"), validators=[DataRequired(), Length(max=1000)])
    text_en = TextAreaField(_l("English text"), validators=[DataRequired(), Length(max=1000)])
    sort_order = IntegerField(_l("Order in lists"), default=100, validators=[Optional(), NumberRange(0, 10000)])


class GridForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    worker_id = SelectField(_l("Grid worker"), coerce=int)  # 0: none
    department_id = SelectField(_l("Default department"), coerce=int)  # 0: none


class PlaceImportForm(FlaskForm):
    file = FileField(_l("GeoJSON or CSV file"), validators=[FileRequired()])


class GridImportForm(FlaskForm):
    file = FileField(_l("GeoJSON file"), validators=[FileRequired()])
