"""Admin operations: users, categories, departments and their members, response templates.

Every change goes through `app.audit.record` (who, when, the values before and after).
Grids and teams have their own services (`app.grids.services`, `app.teams.services`), which record too.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from app.audit import record, snapshot
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.models import ROLES, Category, Department, Report, Role, Team, User
from app.text import clean_text
from app.triage.models import ResponseTemplate
from app.triage.workflow import LABELS

USER_FIELDS = ("display_name", "role", "active")
CATEGORY_FIELDS = (
    "code",
    "name_zh",
    "name_en",
    "icon",
    "hazard",
    "own_department",
    "accept_hours",
    "resolve_hours",
    "active",
    "sort_order",
)
DEPARTMENT_FIELDS = ("code", "name_zh", "name_en")
TEMPLATE_FIELDS = ("target_status", "text_zh", "text_en", "sort_order")
# The category icons shipped in static/icons.
ICONS = ("elevator", "fire", "garbage", "light", "manhole", "noise", "other", "parking", "road", "vending")
CODE_RE = re.compile(r"^[a-z0-9_]{1,40}$")
MAX_HOURS = 24 * 365


def _get(model, obj_id: int, message):
    obj = db.session.get(model, obj_id)
    if obj is None:
        raise NotFound(message)
    return obj


def _text(value: str | None, label, max_len: int, required: bool = True) -> str:
    value = clean_text(value)
    if (required and not value) or len(value) > max_len:
        raise ValidationFailed(
            _l("%(field)s: 1 to %(n)d characters are required.", field=label, n=max_len)
            if required
            else _l("%(field)s: at most %(n)d characters.", field=label, n=max_len)
        )
    return value


def _code(value: str | None) -> str:
    value = clean_text(value)
    if not CODE_RE.match(value):
        raise ValidationFailed(_l("The code uses lower-case letters, digits and _ (1 to 40)."), code="invalid_code")
    return value


# --- users -------------------------------------------------------------------------------


def get_user(user_id: int) -> User:
    """A user by id, or NotFound."""
    return _get(User, user_id, _l("No such user."))


def list_users(
    query: str = "",
    role: str = "",
    team_id: int | None = None,
    active: bool | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[User], int]:
    """Users matching the filters, by display name, with the total."""
    q = select(User)
    if query:
        like = f"%{clean_text(query)[:40]}%"
        q = q.where(or_(User.username.ilike(like), User.display_name.ilike(like)))
    if role and role not in ROLES:
        raise ValidationFailed(_l("Unknown role."), code="invalid_role")
    if role:
        q = q.where(User.role == role)
    if team_id:
        q = q.where(User.team_id == team_id)
    if active is not None:
        q = q.where(User.active.is_(active))
    total = db.session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = db.session.scalars(
        q.order_by(User.display_name, User.id).limit(per_page).offset((max(page, 1) - 1) * per_page)
    )
    return list(rows), total


def user_state(user: User) -> dict[str, Any]:
    """What the audit log keeps of a user: names, not ids, so entries read on their own."""
    state = snapshot(user, USER_FIELDS)
    team = db.session.get(Team, user.team_id) if user.team_id else None
    dept = db.session.get(Department, user.department_id) if user.department_id else None
    state.update(team=team.name if team else None, department=dept.code if dept else None)
    return state


def _other_active_admins(user: User) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == Role.ADMIN, User.active.is_(True), User.id != user.id)
        )
        or 0
    )


def update_user(
    user: User,
    actor: User,
    *,
    display_name: str,
    role: str,
    team_id: int | None,
    department_id: int | None,
    active: bool,
) -> User:
    """Change a user's name, role, team, department and whether they may log in."""
    display_name = _text(display_name, _l("Display name"), 80)
    if role not in ROLES:
        raise ValidationFailed(_l("Unknown role."))
    if team_id is not None:
        _get(Team, team_id, _l("No such team."))
    if department_id is not None:
        _get(Department, department_id, _l("No such department."))
    if user.is_admin and (role != Role.ADMIN or not active) and not _other_active_admins(user):
        raise ValidationFailed(_l("Keep at least one active administrator."), status=409, code="last_admin")
    before = user_state(user)
    user.display_name, user.role, user.team_id, user.department_id = display_name, role, team_id, department_id
    user.active = bool(active)
    db.session.flush()
    action = "user.update"
    if before["active"] != user.active:
        action = "user.deactivate" if not user.active else "user.reactivate"
    record(actor, action, "user", user.id, user.username, before, user_state(user))
    return user


def create_account(
    actor: User,
    *,
    username: str,
    display_name: str,
    role: str,
    password: str,
    phone: str = "",
    team_id: int | None = None,
    department_id: int | None = None,
) -> User:
    """Create an account (staff, or a rider without an invite); the mobile number is stored in E.164."""
    from app.auth.services import create_user
    from app.teams.services import normalise_phone

    phone = clean_text(phone)
    e164 = normalise_phone(phone) if phone else None
    if e164 and db.session.scalar(select(User.id).where(User.phone == e164)):
        raise ValidationFailed(_l("That mobile number is already registered."), status=409, code="phone_taken")
    if team_id is not None:
        _get(Team, team_id, _l("No such team."))
    if department_id is not None:
        _get(Department, department_id, _l("No such department."))
    user = create_user(
        clean_text(username),
        password,
        role,
        display_name=_text(display_name, _l("Display name"), 80),
        phone=e164,
        department_id=department_id,
    )
    user.team_id = team_id
    db.session.flush()
    record(actor, "user.create", "user", user.id, user.username, {}, user_state(user))
    return user


def reset_password(user: User, actor: User, password: str) -> int:
    """Set a new password for a user after a lost phone or a forgotten password: every login of theirs ends
    and their API tokens are revoked (the audit log notes both, never the password). Returns the tokens revoked."""
    from app.auth.services import check_new_password, end_sessions, revoke_tokens

    check_new_password(password)
    user.set_password(password)
    end_sessions(user)
    revoked = revoke_tokens(user)
    db.session.flush()
    record(actor, "user.password", "user", user.id, user.username, {}, {"password": "reset", "tokens_revoked": revoked})
    return revoked


def grid_worker_candidates(grid) -> list[User]:
    """Who can be a grid's worker: active staff, and whoever holds the post now."""
    q = select(User).where(or_(User.id == grid.worker_id, (User.active.is_(True)) & (User.role != Role.RIDER)))
    return list(db.session.scalars(q.order_by(User.display_name, User.id)))


# --- categories --------------------------------------------------------------------------


def all_categories() -> list[Category]:
    """Every category, active or not, in display order."""
    return list(db.session.scalars(select(Category).order_by(Category.sort_order, Category.id)))


def get_category(category_id: int) -> Category:
    """A category by id, or NotFound."""
    return _get(Category, category_id, _l("No such category."))


def category_state(category: Category) -> dict[str, Any]:
    """What the audit log keeps of a category (the department by its code)."""
    dept_id = category.default_department_id
    dept = db.session.get(Department, dept_id) if dept_id else None
    return {**snapshot(category, CATEGORY_FIELDS), "default_department": dept.code if dept else None}


def _hours(value: Any, label) -> float:
    try:
        hours = float(str(value).strip())
    except (TypeError, ValueError):
        hours = -1
    if not 0 < hours <= MAX_HOURS:
        raise ValidationFailed(_l("%(field)s: a number of hours above 0 and up to a year.", field=label))
    return hours


def save_category(
    category: Category | None,
    actor: User,
    *,
    code: str,
    name_zh: str,
    name_en: str,
    icon: str,
    hazard: bool,
    accept_hours: Any,
    resolve_hours: Any,
    default_department_id: int | None,
    active: bool = True,
    sort_order: int = 100,
    own_department: bool = False,
) -> Category:
    """Create or edit a category."""
    code = _code(code)
    values = dict(
        code=code,
        name_zh=_text(name_zh, _l("Chinese name"), 80),
        name_en=_text(name_en, _l("English name"), 80),
        hazard=bool(hazard),
        active=bool(active),
        accept_hours=_hours(accept_hours, _l("Hours to accept")),
        resolve_hours=_hours(resolve_hours, _l("Hours to resolve")),
        sort_order=int(sort_order or 0),
        default_department_id=default_department_id,
        own_department=bool(own_department),
    )
    if icon not in ICONS:
        raise ValidationFailed(_l("Unknown icon."))
    values["icon"] = icon
    if values["accept_hours"] > values["resolve_hours"]:
        raise ValidationFailed(_l("The time to accept cannot be longer than the time to resolve."))
    if default_department_id is not None:
        _get(Department, default_department_id, _l("No such department."))
    clash = db.session.scalar(select(Category.id).where(Category.code == code))
    if clash is not None and (category is None or clash != category.id):
        raise ValidationFailed(_l("A category with that code exists."), status=409, code="exists")
    before = category_state(category) if category is not None else {}
    if category is None:
        category = Category(**values)
        db.session.add(category)
    else:
        for key, value in values.items():
            setattr(category, key, value)
    db.session.flush()
    record(
        actor,
        "category.update" if before else "category.create",
        "category",
        category.id,
        category.code,
        before,
        category_state(category),
    )
    return category


# --- departments ------------------------------------------------------------------------


def all_departments() -> list[Department]:
    """Every department by code."""
    return list(db.session.scalars(select(Department).order_by(Department.code)))


def get_department(department_id: int) -> Department:
    """A department by id, or NotFound."""
    return _get(Department, department_id, _l("No such department."))


def department_members(department: Department) -> list[User]:
    """The people who handle this department's reports."""
    return list(
        db.session.scalars(
            select(User).where(User.department_id == department.id).order_by(User.active.desc(), User.display_name)
        )
    )


def member_counts() -> dict[int, int]:
    """department id -> number of active members."""
    rows = db.session.execute(
        select(User.department_id, func.count())
        .where(User.department_id.is_not(None), User.active.is_(True))
        .group_by(User.department_id)
    )
    return {dept_id: n for dept_id, n in rows}


def save_department(department: Department | None, actor: User, *, code: str, name_zh: str, name_en: str) -> Department:
    """Create or edit a department."""
    code = _code(code)
    name_zh, name_en = _text(name_zh, _l("Chinese name"), 80), _text(name_en, _l("English name"), 80)
    clash = db.session.scalar(select(Department.id).where(Department.code == code))
    if clash is not None and (department is None or clash != department.id):
        raise ValidationFailed(_l("A department with that code exists."), status=409, code="exists")
    before = snapshot(department, DEPARTMENT_FIELDS) if department is not None else {}
    if department is None:
        department = Department(code=code, name_zh=name_zh, name_en=name_en)
        db.session.add(department)
    else:
        department.code, department.name_zh, department.name_en = code, name_zh, name_en
    db.session.flush()
    record(
        actor,
        "department.update" if before else "department.create",
        "department",
        department.id,
        department.code,
        before,
        snapshot(department, DEPARTMENT_FIELDS),
    )
    return department


def add_member(department: Department, actor: User, username: str) -> User:
    """Make a user a member (handler) of a department; riders become handlers."""
    user = db.session.scalar(select(User).where(User.username == clean_text(username)[:40]))
    if user is None:
        raise NotFound(_l("No such user."))
    before = user_state(user)
    user.department_id = department.id
    if user.is_rider:
        user.role = Role.HANDLER.value
    db.session.flush()
    record(actor, "department.member_add", "user", user.id, user.username, before, user_state(user))
    return user


def remove_member(department: Department, actor: User, user: User) -> User:
    """Take a user out of a department (their role stays)."""
    if user.department_id != department.id:
        raise NotFound(_l("That person is not in this department."))
    before = user_state(user)
    user.department_id = None
    db.session.flush()
    record(actor, "department.member_remove", "user", user.id, user.username, before, user_state(user))
    return user


def delete_department(department: Department, actor: User) -> None:
    """Remove a department nobody uses any more (refused while reports, people, categories or grids use it)."""
    from app.grids.models import Grid

    used = any(
        db.session.scalar(select(model.id).where(column == department.id).limit(1)) is not None
        for model, column in (
            (Report, Report.department_id),
            (User, User.department_id),
            (Category, Category.default_department_id),
            (Grid, Grid.department_id),
        )
    )
    if used:
        raise ValidationFailed(
            _l("This department is still used by reports, people, categories or grids."), status=409, code="in_use"
        )
    record(
        actor,
        "department.delete",
        "department",
        department.id,
        department.code,
        snapshot(department, DEPARTMENT_FIELDS),
        {},
    )
    db.session.delete(department)
    db.session.flush()


# --- response templates -----------------------------------------------------------------


def all_templates() -> list[ResponseTemplate]:
    """Every response template, grouped by target status."""
    return list(
        db.session.scalars(
            select(ResponseTemplate).order_by(
                ResponseTemplate.target_status, ResponseTemplate.sort_order, ResponseTemplate.id
            )
        )
    )


def get_template(template_id: int) -> ResponseTemplate:
    """A response template by id, or NotFound."""
    return _get(ResponseTemplate, template_id, _l("No such template."))


def save_template(
    template: ResponseTemplate | None,
    actor: User,
    *,
    target_status: str,
    text_zh: str,
    text_en: str,
    sort_order: int = 100,
) -> ResponseTemplate:
    """Create or edit a ready-made note for moves to target_status."""
    if target_status not in {s.value for s in LABELS}:
        raise ValidationFailed(_l("Unknown status."))
    values = dict(
        target_status=target_status,
        text_zh=_text(text_zh, _l("Chinese text"), 1000),
        text_en=_text(text_en, _l("English text"), 1000),
        sort_order=int(sort_order or 0),
    )
    before = snapshot(template, TEMPLATE_FIELDS) if template is not None else {}
    if template is None:
        template = ResponseTemplate(**values)
        db.session.add(template)
    else:
        for key, value in values.items():
            setattr(template, key, value)
    db.session.flush()
    record(
        actor,
        "template.update" if before else "template.create",
        "response_template",
        template.id,
        template.target_status,
        before,
        snapshot(template, TEMPLATE_FIELDS),
    )
    return template


def delete_template(template: ResponseTemplate, actor: User) -> None:
    """Remove a response template."""
    record(
        actor,
        "template.delete",
        "response_template",
        template.id,
        template.target_status,
        snapshot(template, TEMPLATE_FIELDS),
        {},
    )
    db.session.delete(template)
    db.session.flush()
