"""The Grid model: a polygon or multipolygon stored as GeoJSON geometry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models import Department, User, UTCDateTime, utcnow


class Grid(db.Model):
    """A grid area of the county, with its worker (网格员) and default department."""

    __tablename__ = "grid"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    # Indexed: max(updated_at) is part of the cheap "grids version" every lookup checks.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    worker: Mapped[User | None] = relationship()
    department: Mapped[Department | None] = relationship()
