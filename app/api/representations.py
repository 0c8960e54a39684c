"""JSON shapes of reports, photos and events, shared by the API and the pages' scripts."""
from flask import url_for

from app.i18n import iso, lang
from app.models import Photo, Report, ReportEvent


def photo_json(photo: Photo) -> dict:
    return {"id": photo.id, "kind": photo.kind,
            "url": url_for("reports.photo", photo_id=photo.id, variant="display"),
            "thumb_url": url_for("reports.photo", photo_id=photo.id, variant="thumb"),
            "width": photo.width, "height": photo.height}


def report_json(report: Report) -> dict:
    """The public JSON form of a report (no contact details)."""
    l = lang()
    due = report.due_at
    return {
        "id": report.id,
        "reference": report.reference,
        "status": report.status,
        "category": report.category.code,
        "category_name": report.category.name(l),
        "description": report.description,
        "building": report.building,
        "lat": report.lat,
        "lon": report.lon,
        "accuracy": report.accuracy,
        "location_source": report.location_source,
        "address": report.address,
        "created_at": iso(report.created_at),
        "captured_at": iso(report.captured_at),
        "updated_at": iso(report.updated_at),
        "version": report.version,
        "priority": report.priority,
        "department": report.department.code if report.department else None,
        "assignee": report.assignee.display_name if report.assignee else None,
        "due_at": iso(due),
        "overdue": report.is_overdue(),
        "outcome": report.outcome,
        "duplicate_of": report.duplicate_of.reference if report.duplicate_of else None,
        "grid": {"code": report.grid.code, "name": report.grid.name} if report.grid else None,
        "photos": [photo_json(p) for p in report.photos if p.kind == "report"],
        "after_photos": [photo_json(p) for p in report.photos if p.kind == "after"],
    }


def event_json(event: ReportEvent) -> dict:
    return {"id": event.id, "kind": event.kind, "at": iso(event.created_at),
            "actor": event.actor.display_name if event.actor else None,
            "from": event.from_status, "to": event.to_status, "note": event.note,
            "internal": event.internal, "details": event.details or {}}
