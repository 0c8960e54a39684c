"""Triage tables: response templates and maintained counts per status."""
from __future__ import annotations


from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class ResponseTemplate(db.Model):
    """A ready-made note for a move to target_status (e.g. the usual rejection reason)."""

    __tablename__ = "response_template"
    id: Mapped[int] = mapped_column(primary_key=True)
    target_status: Mapped[str] = mapped_column(String(20), index=True)
    text_zh: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(Integer, default=100)

    def text(self, locale: str) -> str:
        return self.text_zh if locale.startswith("zh") else self.text_en


class ReportStatusCount(db.Model):
    """Reports per status, kept exact by database triggers on `report` (see the migration).

    The board shows these as tab counts: a GROUP BY over a million rows costs ~50 ms, a read
    of eight rows nothing. Triggers (not application code) keep them, so bulk inserts, the
    demo loader and any other writer can never make them drift.
    """

    __tablename__ = "report_status_count"
    __table_args__ = {"info": {"kept_by_triggers": True}}  # `flask db copy` leaves it to the target's triggers
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
