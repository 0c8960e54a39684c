"""Summary tables: open reports counted per (category, grid, department, team), kept by triggers; the
published weeks; the reports corrected after filing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models import UTCDateTime, utcnow


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


class PublishedSummary(db.Model):
    """A week's summary as published: the full data object the page, JSON, CSV and email render, frozen.

    A week is published once (the Monday job or `flask summary --publish`); an admin may republish, which
    adds a version and keeps the earlier ones (`current` marks the one served). `headline` and `groups`
    are small extracts of `data` (written with it), so sparklines and trends read a few kilobytes per week
    instead of the whole document. `correction_mark` is the last report_correction id the computation saw:
    corrections after it are the week's late changes."""

    __tablename__ = "published_summary"
    __table_args__ = (
        UniqueConstraint("week", "version", name="uq_published_summary_week_version"),
        Index("ix_published_summary_current_week", "current", "week"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer, default=1)
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    code_version: Mapped[str] = mapped_column(String(80), default="")
    correction_mark: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    headline: Mapped[dict[str, Any]] = mapped_column(JSON)
    groups: Mapped[dict[str, Any]] = mapped_column(JSON)


class ReportCorrection(db.Model):
    """A report's category or place (grid, location) changed after filing: written by a trigger on
    `report` whoever writes (a coordinator's correction, a regrid, a SQL console), read to count a
    published week's late changes. `filed_at` is the report's created_at, so a week's are found by range."""

    __tablename__ = "report_correction"
    __table_args__ = (Index("ix_report_correction_filed", "filed_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(Integer)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
