"""A week's follow-up per department: escalations (督办) and the riders' confirmations (回访)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import Department, Report, ReportEvent
from app.triage.workflow import Status


def follow_up(start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per department (None: no department): escalations recorded in [start, end) at level 1 or more,
    reports resolved, riders' answers, "not fixed" answers, and the two rates (None when nothing to divide)."""
    rows: dict = defaultdict(lambda: {"escalations": 0, Status.RESOLVED.value: 0, "answers": 0, "not_fixed": 0})
    in_week = (ReportEvent.created_at >= start, ReportEvent.created_at < end)
    # The week's resolves counted in SQL (read from ix_event_created_moves); the escalations and answers,
    # a few, read with their details.
    resolves = db.session.execute(
        select(Report.department_id, func.count())
        .select_from(ReportEvent)
        .join(Report, Report.id == ReportEvent.report_id)
        .where(*in_week, ReportEvent.kind == "transition", ReportEvent.to_status == Status.RESOLVED.value)
        .group_by(Report.department_id)
    )
    for dept, n in resolves:
        rows[dept][Status.RESOLVED.value] += n
    events = db.session.execute(
        select(Report.department_id, ReportEvent.kind, ReportEvent.details)
        .join(Report, Report.id == ReportEvent.report_id)
        .where(*in_week, ReportEvent.kind.in_(("escalated", "confirmation")))
    )
    for dept, kind, details in events:
        if kind == "escalated" and int((details or {}).get("level", 0)) >= 1:
            rows[dept]["escalations"] += 1
        elif kind == "confirmation":
            rows[dept]["answers"] += 1
            rows[dept]["not_fixed"] += 0 if (details or {}).get("fixed") else 1
    names = (
        {
            d.id: d
            for d in db.session.scalars(select(Department).where(Department.id.in_([k for k in rows if k is not None])))
        }
        if rows
        else {}
    )
    out = []
    for dept_id, r in rows.items():
        d = names.get(dept_id)
        out.append(
            {
                "code": d.code if d else None,
                "name_zh": d.name_zh if d else "未分派",
                "name_en": d.name_en if d else "No department",
                **r,
                "confirmation_rate": round(r["answers"] / r[Status.RESOLVED.value], 3)
                if r[Status.RESOLVED.value]
                else None,
                "not_fixed_rate": round(r["not_fixed"] / r["answers"], 3) if r["answers"] else None,
            }
        )
    out.sort(key=lambda r: (-r["escalations"], -r["not_fixed"], r["code"] or "~"))
    return out
