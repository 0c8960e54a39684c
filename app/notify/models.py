"""Notification tables: what to tell whom (the outbox), and one delivery per channel with its state."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models import UTCDateTime, utcnow


class Channel(StrEnum):
    """Where a notification goes: the bell in the app, or one of the outside channels."""

    APP = "app"
    EMAIL = "email"
    SMS = "sms"
    ROBOT = "robot"  # the department's group robot (WeCom, DingTalk, Feishu, generic webhook)


class DeliveryState(StrEnum):
    """A delivery waits (pending), went out (sent), failed and waits for its retry, or gave up (dead)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"


DUE_STATES = (DeliveryState.PENDING.value, DeliveryState.FAILED.value)


class Notification(db.Model):
    """Something to tell one user or one department's group, written in the transaction of its cause."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at", "delivered_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(30))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    hazard: Mapped[bool] = mapped_column(default=False)  # hazards are never held by quiet hours
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # shown in the bell from then on
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    deliveries: Mapped[list[Delivery]] = relationship(back_populates="notification", cascade="all, delete-orphan")
    report = relationship("Report")
    user = relationship("User")
    department = relationship("Department")


class Delivery(db.Model):
    """One channel's delivery of a notification; the worker moves it from pending to sent, or retries."""

    __tablename__ = "notification_delivery"
    __table_args__ = (Index("ix_delivery_due", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10), default=DeliveryState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    # Passed to receivers that accept one (webhook header, SMS OutId), so a resend can be recognised.
    key: Mapped[str] = mapped_column(String(40), unique=True, default=lambda: uuid.uuid4().hex)

    notification: Mapped[Notification] = relationship(back_populates="deliveries")


class JobMark(db.Model):
    """How far a periodic job has run (escalation handles the deadlines crossed since its last pass)."""

    __tablename__ = "job_mark"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    ran_until: Mapped[datetime] = mapped_column(UTCDateTime)
