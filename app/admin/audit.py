"""Recording admin changes (who, when, what: the values before and after) and reading them back."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable, Optional

from sqlalchemy import func, select

from app.admin.models import AuditLog
from app.extensions import db
from app.models import User


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


def record(actor: Optional[User], action: str, target_type: str, target_id: Any = None, label: str = "",
           before: Optional[dict] = None, after: Optional[dict] = None) -> Optional[AuditLog]:
    """Write one audit entry; only the fields that changed are kept (nothing is written when nothing did)."""
    before, after = dict(before or {}), dict(after or {})
    if before and after:
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        if not changed:
            return None
        before = {k: v for k, v in before.items() if k in changed}
        after = {k: v for k, v in after.items() if k in changed}
    entry = AuditLog(actor_id=actor.id if actor is not None else None, action=action, target_type=target_type,
                     target_id=None if target_id is None else str(target_id), target_label=(label or "")[:200],
                     before=_plain(before), after=_plain(after))
    db.session.add(entry)
    db.session.flush()
    return entry


def entries(page: int = 1, per_page: int = 50, target_type: Optional[str] = None, actor_id: Optional[int] = None,
            action: Optional[str] = None, since: Optional[datetime] = None, until: Optional[datetime] = None,
            target_id: Optional[str] = None) -> tuple[list[AuditLog], int]:
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
    rows = db.session.scalars(q.order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
                              .limit(per_page).offset((max(page, 1) - 1) * per_page))
    return list(rows), total


def target_types() -> list[str]:
    """The kinds of things the log has entries for."""
    return sorted(db.session.scalars(select(AuditLog.target_type).distinct()))


def actors() -> list[User]:
    """The people who have made recorded changes."""
    ids = select(AuditLog.actor_id).where(AuditLog.actor_id.is_not(None)).distinct()
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.display_name)))
