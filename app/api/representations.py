"""JSON shapes of reports, photos and events, shared by the API and the pages' scripts."""

from flask import url_for

from app.auth.access import sees_private_parts
from app.i18n import iso, lang
from app.models import Photo, Report, ReportEvent, User
from app.reports.places import place_of
from app.reports.services import shared_photos

# What a co-reporter is not told: the rider's own words and when they took their photos.
PRIVATE_FIELDS = ("description", "building", "captured_at", "voice")


def photo_json(photo: Photo) -> dict:
    return {
        "id": photo.id,
        "kind": photo.kind,
        "url": url_for("reports.photo", photo_id=photo.id, variant="display"),
        "thumb_url": url_for("reports.photo", photo_id=photo.id, variant="thumb"),
        "width": photo.width,
        "height": photo.height,
    }


def report_json(report: Report, viewer: User) -> dict:
    """The JSON form of a report as `viewer` sees it (never contact details): a co-reporter gets only their
    share, without the rider's description, building or capture time and with only their own and the staff's
    photos."""
    lg = lang()
    due = report.due_at
    whole = sees_private_parts(viewer, report)
    photos = report.photos if whole else shared_photos(report, viewer)
    body = {
        "id": report.id,
        "reference": report.reference,
        "status": report.status,
        "category": report.category.code,
        "category_name": report.category.name(lg),
        "description": report.description,
        "building": report.building,
        "lat": report.lat,
        "lon": report.lon,
        "accuracy": report.accuracy,
        "location_source": report.location_source,
        "address": report.address,
        "place": place_of(report, "zh_CN" if lg == "zh" else "en"),
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
        "outside_area": bool(report.outside_area),
        "photos": [photo_json(p) for p in photos if p.kind == "report"],
        "after_photos": [photo_json(p) for p in photos if p.kind == "after"],
        "co_reporter": not whole,
        "voice": {
            "url": url_for("reports.voice", report_id=report.id),
            "type": report.voice_type,
            "seconds": report.voice_seconds,
        }
        if report.voice_key
        else None,
    }
    return body if whole else {k: v for k, v in body.items() if k not in PRIVATE_FIELDS}


def event_json(event: ReportEvent) -> dict:
    return {
        "id": event.id,
        "kind": event.kind,
        "at": iso(event.created_at),
        "actor": event.actor.display_name if event.actor else None,
        "from": event.from_status,
        "to": event.to_status,
        "note": event.note,
        "internal": event.internal,
        "details": event.details or {},
    }
