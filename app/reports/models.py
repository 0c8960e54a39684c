"""Filing's own tables: when a rider last looked at a report they follow (the unread badge in My reports), and the
gazetteer of local landmarks that names where a report is."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models import UTCDateTime, utcnow


class ReportSeen(db.Model):
    """When a rider last looked at a report they follow (for the unread badge in My reports)."""

    __tablename__ = "report_seen"
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Place(db.Model):
    """A local landmark of the gazetteer (a shop, a compound 小区, a school, a bus stop, a market): reports are
    labelled by the nearest, and the place search finds them by name or pinyin initials."""

    __tablename__ = "place"
    __table_args__ = (Index("ix_place_name_position", "name", "lat", "lon"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(30), default="landmark")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    # ~100 m cell of the position (reports.geo's cells), for the nearest landmark of a report
    cell: Mapped[int] = mapped_column(BigInteger, index=True)
    # what the search matches: the name, its pinyin initials and its pinyin, lower case
    search: Mapped[str] = mapped_column(String(600), default="")
    # Indexed: the search's in-process index is rebuilt when max(updated_at) or the count changes.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
