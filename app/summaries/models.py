"""Summary tables: open reports counted per (category, grid, department, team), kept by triggers."""

from __future__ import annotations

from sqlalchemy import Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class ReportBacklogCount(db.Model):
    """Open reports now, per category, grid, department, the filing rider's team and status.

    Database triggers on `report` (and on `user`, for a rider changing team) keep it exact, whoever
    writes: the weekly summary reads ~20,000 of these rows instead of a million reports' index entries
    (see the migration). `dated` is 1 when the report has the deadline its status is measured against
    (accept_due_at while submitted, resolve_due_at while being handled). No group is written as 0
    (ids start at 1), so the key holds no NULL and the primary key catches every duplicate. Rows whose
    count has come back to 0 stay: the reader skips them.
    """

    __tablename__ = "report_backlog_count"
    __table_args__ = (
        PrimaryKeyConstraint(
            "category_id", "grid_id", "department_id", "team_id", "status", "dated", name="pk_report_backlog_count"
        ),
        {"info": {"kept_by_triggers": True}},
    )  # `flask db copy` leaves it to the target's triggers
    category_id: Mapped[int] = mapped_column(Integer)
    grid_id: Mapped[int] = mapped_column(Integer)
    department_id: Mapped[int] = mapped_column(Integer)
    team_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    dated: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer, default=0)
