"""What admins tune in the workflow: response templates per target status, category deadlines and
default departments. Each change goes to the audit log. The caller commits."""
from __future__ import annotations

from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.admin.audit import record, snapshot
from app.errors import NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.models import Category, Department, User
from app.triage.models import ResponseTemplate
from app.triage.workflow import TRANSITIONS, Status

TEMPLATE_FIELDS = ("target_status", "text_zh", "text_en", "sort_order")
CATEGORY_FIELDS = ("accept_hours", "resolve_hours", "default_department_id")
MAX_TEMPLATE = 500
MAX_HOURS = 24 * 365
# Only statuses some move leads to can have a ready-made note.
TARGETS = [s for s in Status if any(s in moves for moves in TRANSITIONS.values())]


def _admin(actor: User) -> None:
    if actor.role != "admin":
        raise PermissionDenied(_l("Only administrators change the workflow settings."))


def templates_by_status() -> dict[str, list[ResponseTemplate]]:
    """Every response template, grouped by target status, in their order."""
    out: dict[str, list[ResponseTemplate]] = {s.value: [] for s in TARGETS}
    for t in db.session.scalars(select(ResponseTemplate).order_by(ResponseTemplate.sort_order, ResponseTemplate.id)):
        out.setdefault(t.target_status, []).append(t)
    return out


def save_template(actor: User, template_id: Optional[int], *, target_status: str, text_zh: str, text_en: str,
                  sort_order=100) -> ResponseTemplate:
    """Create (template_id None) or update a response template."""
    _admin(actor)
    if target_status not in {s.value for s in TARGETS}:
        raise ValidationFailed(_l("Choose the status the note goes with."), code="invalid_status")
    text_zh, text_en = (text_zh or "").strip(), (text_en or "").strip()
    if not text_zh and not text_en:
        raise ValidationFailed(_l("Write the note in Chinese or English."), code="text_required")
    if len(text_zh) > MAX_TEMPLATE or len(text_en) > MAX_TEMPLATE:
        raise ValidationFailed(_l("A template has at most %(n)d characters.", n=MAX_TEMPLATE), code="text_too_long")
    try:
        sort_order = int(sort_order)
    except (TypeError, ValueError):
        raise ValidationFailed(_l("The order must be a whole number."), code="invalid_number")
    if template_id is None:
        t = ResponseTemplate()
        before = {}
        db.session.add(t)
    else:
        t = _template(template_id)
        before = snapshot(t, TEMPLATE_FIELDS)
    # A missing language falls back to the other one, so no coordinator gets an empty option.
    t.target_status, t.text_zh, t.text_en, t.sort_order = target_status, text_zh or text_en, text_en or text_zh, sort_order
    db.session.flush()
    record(actor, "update" if before else "create", "response_template", t.id, t.text_en[:60], before,
           snapshot(t, TEMPLATE_FIELDS))
    return t


def delete_template(actor: User, template_id: int) -> None:
    """Remove a response template."""
    _admin(actor)
    t = _template(template_id)
    record(actor, "delete", "response_template", t.id, t.text_en[:60], snapshot(t, TEMPLATE_FIELDS), {})
    db.session.delete(t)
    db.session.flush()


def _template(template_id) -> ResponseTemplate:
    t = db.session.get(ResponseTemplate, template_id)
    if t is None:
        raise NotFound(_l("No such template."))
    return t


def _hours(value, what) -> float:
    try:
        hours = float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(_l("%(what)s must be a number of hours.", what=what), code="invalid_hours")
    if not 0 < hours <= MAX_HOURS:
        raise ValidationFailed(_l("%(what)s must be between 0 and %(n)d hours.", what=what, n=MAX_HOURS),
                               code="invalid_hours")
    return hours


def set_category_rules(actor: User, category_id: int, *, accept_hours, resolve_hours,
                       default_department: Optional[str]) -> Category:
    """A category's time to accept and to resolve (for reports filed from now on) and its default department."""
    _admin(actor)
    cat = db.session.get(Category, category_id)
    if cat is None:
        raise NotFound(_l("No such category."))
    accept, resolve = _hours(accept_hours, _l("Time to accept")), _hours(resolve_hours, _l("Time to resolve"))
    if accept > resolve:
        raise ValidationFailed(_l("The time to accept cannot be longer than the time to resolve."),
                               code="invalid_hours")
    dept_id = None
    if default_department:
        dept_id = db.session.scalar(select(Department.id).where(Department.code == default_department))
        if dept_id is None:
            raise ValidationFailed(_l("No such department."), code="department_unknown")
    before = snapshot(cat, CATEGORY_FIELDS)
    cat.accept_hours, cat.resolve_hours, cat.default_department_id = accept, resolve, dept_id
    db.session.flush()
    record(actor, "update", "category", cat.id, cat.code, before, snapshot(cat, CATEGORY_FIELDS))
    return cat


def department_members() -> list[tuple[Department, list[User]]]:
    """Each department with its active members (handlers), for the settings page."""
    departments = list(db.session.scalars(select(Department).order_by(Department.id)))
    members: dict[int, list[User]] = {d.id: [] for d in departments}
    for u in db.session.scalars(select(User).where(User.department_id.is_not(None), User.active.is_(True))
                                .order_by(User.display_name)):
        members.setdefault(u.department_id, []).append(u)
    return [(d, members[d.id]) for d in departments]


def set_member(actor: User, username: str, department: Optional[str]) -> User:
    """Put a user in a department as a handler (a rider becomes a handler), or take them out (None)."""
    _admin(actor)
    user = db.session.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise NotFound(_l("No such user."))
    dept_id = None
    if department:
        dept_id = db.session.scalar(select(Department.id).where(Department.code == department))
        if dept_id is None:
            raise ValidationFailed(_l("No such department."), code="department_unknown")
    before = snapshot(user, ("role", "department_id"))
    if dept_id is not None and user.role == "rider":
        user.role = "handler"
    user.department_id = dept_id
    db.session.flush()
    record(actor, "update", "user", user.id, user.username, before, snapshot(user, ("role", "department_id")))
    return user
