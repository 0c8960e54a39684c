"""Staff correct what a rider got wrong: the category and the location. The caller commits."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from app.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.grids.area import outside_area
from app.grids.index import grid_for_point
from app.models import Report, ReportEvent, utcnow
from app.reports.geo import cell_of, distance_m, valid_location
from app.reports.services import category_by_code
from app.triage.services import claim_version, clean_note
from app.triage.workflow import Priority, Status

# Not yet dispatched: the department is still the category's suggestion, so it follows the category.
UNDISPATCHED = (Status.SUBMITTED.value, Status.ACCEPTED.value)


def _number(value, what: str) -> float:
    if isinstance(value, bool) or value is None or value == "":
        raise ValidationFailed(_l("%(what)s must be a number.", what=what), code="invalid_number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(_l("%(what)s must be a number.", what=what), code="invalid_number") from None


def _default_priority(category) -> str:
    return Priority.URGENT.value if category.hazard else Priority.NORMAL.value


def correct_report(
    report: Report, actor, *, version, category=None, lat=None, lon=None, note=None, now: datetime | None = None
) -> ReportEvent:
    """Change a report's category and/or location (staff only): the grid, the suggested department, the
    deadlines and the priority a filing would have given follow; one internal timeline event records it."""
    if not actor.is_staff:
        raise PermissionDenied(_l("Only coordinators correct a report's category or location."))
    note = clean_note(note)
    details: dict = {}
    new_cat = None
    if category not in (None, ""):
        new_cat = category_by_code(str(category).strip())
        if new_cat.id == report.category_id:
            new_cat = None
    new_place = None
    if lat not in (None, "") or lon not in (None, ""):
        lat_f, lon_f = _number(lat, "lat"), _number(lon, "lon")
        if not valid_location(lat_f, lon_f):
            raise ValidationFailed(_l("The location is out of range."), code="invalid_location")
        if (lat_f, lon_f) != (report.lat, report.lon):
            new_place = (lat_f, lon_f)
    if new_cat is None and new_place is None:
        raise ValidationFailed(_l("Nothing to correct: send a new category or location."), code="nothing_to_change")
    now = now or utcnow()
    claim_version(report, version, now)
    if new_cat is not None:
        old = report.category
        details.update(previous_category=old.code, category=new_cat.code)
        # The deadlines keep their start (filing or reopening) and take the new category's lengths.
        if report.accept_due_at is not None:
            report.accept_due_at += timedelta(hours=new_cat.accept_hours - old.accept_hours)
        if report.resolve_due_at is not None:
            report.resolve_due_at += timedelta(hours=new_cat.resolve_hours - old.resolve_hours)
        if report.status in UNDISPATCHED and report.department_id in (None, old.default_department_id):
            details["previous_department_id"] = report.department_id
            report.department_id = new_cat.default_department_id
        if report.priority == _default_priority(old):  # a priority someone set by hand stays
            report.priority = _default_priority(new_cat)
        report.category_id = new_cat.id
        report.category = new_cat
    if new_place is not None:
        details.update(
            previous_lat=report.lat,
            previous_lon=report.lon,
            lat=new_place[0],
            lon=new_place[1],
            moved_m=round(distance_m((report.lat, report.lon), new_place)),
            previous_grid_id=report.grid_id,
        )
        report.lat, report.lon = new_place
        report.cell = cell_of(*new_place)
        report.location_source = "map"
        report.address = None  # named again after the commit (reports.addresses)
        report.grid_id = grid_for_point(*new_place)
        report.outside_area = outside_area(*new_place)
        details["grid_id"] = report.grid_id
    event = ReportEvent(
        report_id=report.id,
        actor_id=actor.id,
        created_at=now,
        kind="edit",
        internal=True,
        note=note,
        from_status=report.status,
        to_status=report.status,
        details=details,
    )
    db.session.add(event)
    db.session.flush()
    return event
