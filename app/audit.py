"""The audit log: recording changes (who, when, what: the values before and after) and reading them back.

Core: the admin pages, teams and grids all record through it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models import User, UTCDateTime, utcnow


class AuditLog(db.Model):
    """Who changed what, when, with the values before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(40))
    target_label: Mapped[str] = mapped_column(String(200), default="")
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()


TARGET_LABELS = {
    "user": _l("People"),
    "category": _l("Categories"),
    "department": _l("Departments"),
    "grid": _l("Grids"),
    "place": _l("Places"),
    "report": _l("Reports"),
    "team": _l("Teams"),
    "team_invite": _l("Invite links"),
    "response_template": _l("Response templates"),
}
ACTION_LABELS = {
    "user.create": _l("Account created"),
    "user.update": _l("Account changed"),
    "user.deactivate": _l("Account deactivated"),
    "user.reactivate": _l("Account reactivated"),
    "user.password": _l("Password reset"),
    "user.approve": _l("Team member approved"),
    "category.create": _l("Category created"),
    "category.update": _l("Category changed"),
    "department.create": _l("Department created"),
    "department.update": _l("Department changed"),
    "department.delete": _l("Department deleted"),
    "department.member_add": _l("Added to a department"),
    "department.member_remove": _l("Removed from a department"),
    "grid.create": _l("Grid created"),
    "grid.update": _l("Grid changed"),
    "grid.delete": _l("Grid deleted"),
    "grid.regrid": _l("Open reports re-assigned to grids"),
    "places.import": _l("Places imported"),
    "places.add": _l("Place added"),
    "places.delete": _l("Places removed"),
    "team.create": _l("Team created"),
    "team.update": _l("Team changed"),
    "team.leader": _l("Team leader changed"),
    "invite.create": _l("Invite link created"),
    "invite.revoke": _l("Invite link withdrawn"),
    "template.create": _l("Response template created"),
    "template.update": _l("Response template changed"),
    "template.delete": _l("Response template deleted"),
    # Bare verbs (older entries): the kind is shown beside them.
    "create": _l("Created"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
}


FIELD_LABELS = {
    "display_name": _l("Display name"),
    "role": _l("Role"),
    "active": _l("Active"),
    "team": _l("Team"),
    "department": _l("Department"),
    "password": _l("Password"),
    "approved": _l("Approved"),
    "code": _l("Code"),
    "name": _l("Name"),
    "name_zh": _l("Chinese name"),
    "name_en": _l("English name"),
    "icon": _l("Icon"),
    "hazard": _l("Hazard"),
    "accept_hours": _l("Hours to accept"),
    "resolve_hours": _l("Hours to resolve"),
    "default_department": _l("Default department"),
    "sort_order": _l("Order in lists"),
    "worker": _l("Grid worker"),
    "geometry": _l("Shape"),
    "grid": _l("Grid"),
    "slogan": _l("Slogan"),
    "requires_approval": _l("Approval required"),
    "leader": _l("Leader"),
    "expires_at": _l("Expires"),
    "max_uses": _l("Maximum joins"),
    "revoked_at": _l("Withdrawn"),
    "target_status": _l("For moves to"),
    "text_zh": _l("Chinese text"),
    "text_en": _l("English text"),
    "tokens_revoked": _l("API tokens revoked"),
}


def field_label(field: str) -> str:
    """The translated name of a recorded field."""
    return str(FIELD_LABELS.get(field, field))


def action_label(action: str) -> str:
    """The translated name of an audit action (the code itself if it has none)."""
    return str(ACTION_LABELS.get(action, action))


def target_label(target_type: str) -> str:
    """The translated name of a kind of audited thing."""
    return str(TARGET_LABELS.get(target_type, target_type))


def _plain(value: Any) -> Any:
    """A JSON-safe copy of a column value."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The current values of these attributes, JSON-safe."""
    return {f: _plain(getattr(obj, f)) for f in fields}


def record(
    actor: User | None,
    action: str,
    target_type: str,
    target_id: Any = None,
    label: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditLog | None:
    """Write one audit entry; only the fields that changed are kept (nothing is written when nothing did)."""
    before, after = dict(before or {}), dict(after or {})
    if before and after:
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        if not changed:
            return None
        before = {k: v for k, v in before.items() if k in changed}
        after = {k: v for k, v in after.items() if k in changed}
    entry = AuditLog(
        actor_id=actor.id if actor is not None else None,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        target_label=(label or "")[:200],
        before=_plain(before),
        after=_plain(after),
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def entries(
    page: int = 1,
    per_page: int = 50,
    target_type: str | None = None,
    actor_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    target_id: str | None = None,
) -> tuple[list[AuditLog], int]:
    """Audit entries matching the filters, newest first, with the total."""
    q = select(AuditLog)
    if target_type:
        q = q.where(AuditLog.target_type == target_type)
    if target_id:
        q = q.where(AuditLog.target_id == str(target_id))
    if actor_id:
        q = q.where(AuditLog.actor_id == actor_id)
    if action:
        q = q.where(AuditLog.action.startswith(action, autoescape=True))
    if since is not None:
        q = q.where(AuditLog.created_at >= since)
    if until is not None:
        q = q.where(AuditLog.created_at < until)
    total = db.session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = db.session.scalars(
        q.order_by(AuditLog.created_at.desc(), AuditLog.id.desc()).limit(per_page).offset((max(page, 1) - 1) * per_page)
    )
    return list(rows), total


def target_types() -> list[str]:
    """The kinds of things the log has entries for."""
    return sorted(db.session.scalars(select(AuditLog.target_type).distinct()))


def actors() -> list[User]:
    """The people who have made recorded changes."""
    ids = select(AuditLog.actor_id).where(AuditLog.actor_id.is_not(None)).distinct()
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.display_name)))
