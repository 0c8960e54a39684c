"""Finding the same problem reported twice: candidates for a report, and open reports near a rider."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.errors import ValidationFailed
from app.extensions import db
from app.models import Category, Report, utcnow
from app.reports.geo import cells_near, distance_m, valid_location
from app.triage.workflow import OPEN_STATUSES, Status


def _within(rows, lat: float, lon: float, radius_m: float, limit: int) -> list[tuple[Report, float]]:
    """Exact geodesic distances for the prefiltered rows, nearest first, inside the radius."""
    found = []
    for r in rows:
        d = distance_m((lat, lon), (r.lat, r.lon))
        if d <= radius_m:
            found.append((r, d))
    found.sort(key=lambda pair: (pair[1], pair[0].id))
    return found[:limit]


def duplicate_candidates(
    report: Report, radius_m: float | None = None, days: int | None = None, limit: int = 20
) -> list[tuple[Report, float]]:
    """Same category, within radius_m, filed within `days` of it, not rejected/duplicate, nearest first
    (none while the report has no pin: "location needed")."""
    if not report.has_location:
        return []
    radius_m = radius_m if radius_m is not None else current_app.config["DUPLICATE_RADIUS_M"]
    days = days if days is not None else current_app.config["DUPLICATE_DAYS"]
    since = report.created_at - timedelta(days=days)
    until = report.created_at + timedelta(days=days)
    # The (cell, created_at) index narrows a million rows to a handful; geopy decides.
    rows = db.session.scalars(
        select(Report).where(
            Report.cell.in_(cells_near(report.lat, report.lon, radius_m)),
            Report.created_at >= since,
            Report.created_at <= until,
            Report.category_id == report.category_id,
            Report.id != report.id,
            Report.status.not_in([Status.REJECTED.value, Status.DUPLICATE.value]),
        )
    )
    return _within(rows, report.lat, report.lon, radius_m, limit)


def nearby_open_reports(
    category: str,
    lat,
    lon,
    radius_m: float | None = None,
    days: int | None = None,
    limit: int = 5,
    now: datetime | None = None,
) -> list[tuple[Report, float]]:
    """Open reports of this category near a point ("already reported?" before a rider files)."""
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        raise ValidationFailed(_l("lat and lon must be numbers."), code="invalid_location") from None
    if not valid_location(lat, lon):
        raise ValidationFailed(_l("The location is out of range."), code="invalid_location")
    cat = db.session.scalar(select(Category).where(Category.code == (category or "")))
    if cat is None:
        raise ValidationFailed(_l("Choose a category from the list."), code="unknown_category")
    radius_m = radius_m if radius_m is not None else current_app.config["DUPLICATE_RADIUS_M"]
    days = days if days is not None else current_app.config["DUPLICATE_DAYS"]
    since = (now or utcnow()) - timedelta(days=days)
    rows = db.session.scalars(
        select(Report).where(
            Report.cell.in_(cells_near(lat, lon, radius_m)),
            Report.created_at >= since,
            Report.category_id == cat.id,
            Report.status.in_([s.value for s in OPEN_STATUSES]),
        )
    )
    return _within(rows, lat, lon, radius_m, limit)


def require_joinable(report: Report) -> None:
    """Refuse (409) a rider joining a report that nearby_open_reports would not offer: closed, or filed more
    than GRIDSNAP_DUPLICATE_DAYS ago."""
    days = current_app.config["DUPLICATE_DAYS"]
    if not report.is_open:
        raise ValidationFailed(
            _l("This report is closed. If the problem is still there, file a new report."),
            status=409,
            code="report_closed",
        )
    if report.created_at < utcnow() - timedelta(days=days):
        raise ValidationFailed(
            _l(
                "This report was filed more than %(n)d days ago. If the problem is still there, file a new report.",
                n=days,
            ),
            status=409,
            code="report_too_old",
        )
