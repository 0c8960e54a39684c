"""Core models: people, categories, reports, their photos and their timeline."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    case,
    false,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.triage.workflow import (
    OPEN_STATUSES,
    RESOLVE_DEADLINE_STATUSES,
    Outcome,
    Priority,
    Status,
    deadline_for,
    is_open,
)


def utcnow() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(UTC)


class UTCDateTime(db.TypeDecorator):
    """A DateTime stored as UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Role(StrEnum):
    """What a user is: a volunteer rider, a department's handler, a coordinator at the board, an admin."""

    RIDER = "rider"
    HANDLER = "handler"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


ROLES = tuple(r.value for r in Role)
STAFF_ROLES = (Role.COORDINATOR.value, Role.ADMIN.value)  # they see and move every report


class Team(db.Model):
    """A volunteer team of riders."""

    __tablename__ = "team"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    slogan: Mapped[str] = mapped_column(String(200), default="")
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Department(db.Model):
    """A handling unit that reports are dispatched to (traffic police, urban management...)."""

    __tablename__ = "department"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    # The department's group robot: wecom | dingtalk | feishu | generic, its webhook and signing secret.
    webhook_kind: Mapped[str | None] = mapped_column(String(10))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))

    def name(self, locale: str) -> str:
        return self.name_zh if locale.startswith("zh") else self.name_en


class User(UserMixin, db.Model):
    """A rider, handler, coordinator or admin."""

    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), default=Role.RIDER.value)
    phone: Mapped[str | None] = mapped_column(String(32))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    approved: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[str | None] = mapped_column(String(200))
    wants_digest: Mapped[bool] = mapped_column(Boolean, default=False)
    # Notifications by email / SMS besides the bell (chosen on the profile page).
    notify_email: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    # Within a channel switched on, the kinds turned off: "email:resolved", "sms:dispatched", ...
    notify_off: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    team: Mapped[Team | None] = relationship()
    department: Mapped[Department | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    # The login this request came with (set by the user loader and at login); not a column.
    login_session = None

    def get_id(self) -> str:
        """The id Flask-Login keeps in the session and remember-me cookie: this login's own random id."""
        return self.login_session.id

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    @property
    def is_staff(self) -> bool:
        """Coordinators and admins see and move every report."""
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_handler(self) -> bool:
        """A department's handler: moves only the reports dispatched to them or their department."""
        return self.role == Role.HANDLER

    @property
    def is_rider(self) -> bool:
        return self.role == Role.RIDER

    @property
    def masked_phone(self) -> str:
        p = self.phone or ""
        return p[:-8] + "****" + p[-4:] if len(p) >= 8 else ""


class ApiToken(db.Model):
    """A personal API token; only its SHA-256 is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    name: Mapped[str] = mapped_column(String(80), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginSession(db.Model):
    """One login on one device. Its random id is all the session and remember-me cookies carry, so deleting
    the row ends that login, wherever its cookies were copied to."""

    __tablename__ = "login_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: secrets.token_urlsafe(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


class Category(db.Model):
    """A kind of problem riders report, with its deadlines."""

    __tablename__ = "category"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))
    description_zh: Mapped[str] = mapped_column(String(300), default="")
    description_en: Mapped[str] = mapped_column(String(300), default="")
    icon: Mapped[str] = mapped_column(String(40), default="other")
    color: Mapped[str] = mapped_column(String(9), default="#555555")
    hazard: Mapped[bool] = mapped_column(Boolean, default=False)
    sort_order: Mapped[int] = mapped_column(Integer, default=100)
    accept_hours: Mapped[float] = mapped_column(Float, default=24)
    resolve_hours: Mapped[float] = mapped_column(Float, default=168)
    default_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    # Always its own department, wherever the report is (lifts go to market supervision), not the grid's.
    own_department: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Any change to the row (Open311's discovery changeset is the latest of these).
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    default_department: Mapped[Department | None] = relationship()

    def name(self, locale: str) -> str:
        return self.name_zh if locale.startswith("zh") else self.name_en


def status_sql(statuses, column: str = "status") -> str:
    """`column IN ('a', 'b')` (or `= 'a'`) as a literal: a partial index's predicate, and what a query must
    say, word for word, for SQLite's planner to prove it implies it (bound parameters would not)."""
    values = [getattr(s, "value", s) for s in statuses]
    if len(values) == 1:
        return f"{column} = '{values[0]}'"
    return "{} IN ({})".format(column, ", ".join(f"'{v}'" for v in values))


_OPEN_SQL = status_sql(OPEN_STATUSES)
_SUBMITTED_SQL = status_sql((Status.SUBMITTED,))
_WORKING_SQL = status_sql(RESOLVE_DEADLINE_STATUSES)


class Report(db.Model):
    """A problem a rider found: where, what, photos, and where it stands."""

    __tablename__ = "report"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key", name="uq_report_user_idempotency"),
        # The board's first page: open reports, newest first (a plain (status, created_at)
        # index is ignored by SQLite's planner for IN (...); the partial one is used).
        Index("ix_report_open_created", "created_at", sqlite_where=text(_OPEN_SQL), postgresql_where=text(_OPEN_SQL)),
        # The board's "needs attention" order, read from the index alone (the 50 rows are fetched after).
        Index(
            "ix_report_open_attention",
            "category_id",
            "status",
            "accept_due_at",
            "resolve_due_at",
            "created_at",
            sqlite_where=text(_OPEN_SQL),
            postgresql_where=text(_OPEN_SQL),
        ),
        # The weekly summary's backlog as of a past moment: open reports whose deadline had not yet come
        # (the rest are counted in report_backlog_count, see app/summaries/models.py).
        Index(
            "ix_report_submitted_accept_due",
            "accept_due_at",
            sqlite_where=text(_SUBMITTED_SQL),
            postgresql_where=text(_SUBMITTED_SQL),
        ),
        Index(
            "ix_report_working_resolve_due",
            "resolve_due_at",
            sqlite_where=text(_WORKING_SQL),
            postgresql_where=text(_WORKING_SQL),
        ),
        Index("ix_report_created", "created_at"),  # the reports filed in a week
        Index("ix_report_duplicate_of", "duplicate_of_id"),  # duplicates merged into a report
        Index("ix_report_status_created", "status", "created_at"),
        Index("ix_report_category_created", "category_id", "created_at"),
        Index("ix_report_user_created", "user_id", "created_at"),
        Index("ix_report_cell_created", "cell", "created_at"),
        Index("ix_report_department_status", "department_id", "status"),
        Index("ix_report_assignee_status", "assignee_id", "status"),
        Index("ix_report_first_accepted", "first_accepted_at"),  # points: acceptances in a period
        # Points: reports closed as fixed in a period, told from the index alone.
        Index("ix_report_closed_outcome", "closed_at", "status", "outcome"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"))
    status: Mapped[str] = mapped_column(String(20), default=Status.SUBMITTED.value)
    description: Mapped[str] = mapped_column(Text, default="")
    building: Mapped[str] = mapped_column(String(100), default="")
    # No pin (all three NULL) only while "location needed": an Open311 request given an address no
    # geocoder could place, kept with its address until a coordinator sets the pin (see has_location).
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    # ~100 m grid cell of the location, for indexed nearby searches (see reports.geo.cell_of)
    cell: Mapped[int | None] = mapped_column(BigInteger)  # row * 360000 + col exceeds 32 bits
    accuracy: Mapped[float | None] = mapped_column(Float)
    location_source: Mapped[str] = mapped_column(String(10), default="device")
    address: Mapped[str | None] = mapped_column(String(300))
    # Where it is, by name, worked out when filed: {"grid", "landmark", "distance_m", "bearing"} (places.label)
    place: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(10), default="web")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    contact: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[str] = mapped_column(String(10), default=Priority.NORMAL.value)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    accept_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolve_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the latest acceptance
    first_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the first: it earns points
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"), index=True)
    # Outside the service area (grids.area) when filed or corrected: accepted, but flagged for the board.
    # Only a server default, so inserts that do not name it (older revisions' data, Core inserts) work.
    outside_area: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # The rider's voice note (app/reports/voice.py), stored with the photos' storage backend.
    voice_key: Mapped[str | None] = mapped_column(String(100))
    voice_type: Mapped[str | None] = mapped_column(String(40))
    voice_seconds: Mapped[float | None] = mapped_column(Float)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    category: Mapped[Category] = relationship()
    department: Mapped[Department | None] = relationship()
    duplicate_of: Mapped[Report | None] = relationship(remote_side=[id])
    grid: Mapped[Grid | None] = relationship()  # noqa: F821  (by name: the grid feature's model)
    photos: Mapped[list[Photo]] = relationship(
        back_populates="report", order_by="Photo.id", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return is_open(self.status)

    @property
    def has_location(self) -> bool:
        """False while the report waits for a coordinator to set its pin ("location needed")."""
        return self.lat is not None and self.lon is not None

    @property
    def is_fixed(self) -> bool:
        """Closed with the outcome fixed (what earns the fixed points and badges)."""
        return self.status == Status.CLOSED and self.outcome == Outcome.FIXED

    @classmethod
    def fixed_clause(cls):
        """SQL for is_fixed."""
        return and_(cls.status == Status.CLOSED.value, cls.outcome == Outcome.FIXED.value)

    @property
    def due_at(self) -> datetime | None:
        """The deadline that applies now: to accept while submitted, to resolve until resolved."""
        return deadline_for(self.status, self.accept_due_at, self.resolve_due_at)

    def is_overdue(self, now: datetime | None = None) -> bool:
        due = self.due_at
        return due is not None and due < (now or utcnow())

    @classmethod
    def due_clause(cls):
        """SQL for due_at: the deadline that applies now, NULL for resolved and closed reports."""
        return case(
            (cls.status == Status.SUBMITTED.value, cls.accept_due_at),
            (cls.status.in_([s.value for s in RESOLVE_DEADLINE_STATUSES]), cls.resolve_due_at),
            else_=None,
        )

    @classmethod
    def overdue_clause(cls, now: datetime):
        """SQL for is_overdue(now): past the accept deadline while submitted, else past the resolve one."""
        return or_(
            and_(cls.status == Status.SUBMITTED.value, cls.accept_due_at < now),
            and_(cls.status.in_([s.value for s in RESOLVE_DEADLINE_STATUSES]), cls.resolve_due_at < now),
        )


class Photo(db.Model):
    """A stored, re-encoded photo of a report (display size and thumbnail)."""

    __tablename__ = "photo"
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("report_event.id"))
    kind: Mapped[str] = mapped_column(String(10), default="report")  # report | after | followup
    key: Mapped[str] = mapped_column(String(100), unique=True)
    thumb_key: Mapped[str] = mapped_column(String(100), unique=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    byte_size: Mapped[int] = mapped_column(Integer, default=0)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # from the photo's EXIF, when it says
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    report: Mapped[Report] = relationship(back_populates="photos")


class ReportEvent(db.Model):
    """One line of a report's timeline: a status move, a comment or a photo."""

    __tablename__ = "report_event"
    __table_args__ = (
        Index("ix_event_report_created", "report_id", "created_at"),
        Index("ix_event_actor_kind", "actor_id", "kind"),  # a rider's passer-by looks (points, "looked already")
        # A period's moves read from the index alone (the weekly summary's largest statement and the points'
        # duplicate merges): SQLite covers a column only as a key, so `details` is the last
        # one there; PostgreSQL has no b-tree order for json and carries it as an INCLUDE column.
        Index(
            "ix_event_created_moves", "created_at", "kind", "to_status", "from_status", "report_id", "details"
        ).ddl_if(dialect="sqlite"),
        Index(
            "ix_event_created_moves",
            "created_at",
            "kind",
            "to_status",
            "from_status",
            "report_id",
            postgresql_include=["details"],
        ).ddl_if(dialect="postgresql"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(12), default="transition")  # submitted|transition|comment|photo
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    report: Mapped[Report] = relationship()
    actor: Mapped[User | None] = relationship()


class CoReporter(db.Model):
    """A rider whose duplicate report was merged into this one; they follow its progress."""

    __tablename__ = "co_reporter"
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    duplicate_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsCode(db.Model):
    """A sign-in code sent by text message: only its keyed hash is kept, with its expiry and wrong tries."""

    __tablename__ = "sms_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
