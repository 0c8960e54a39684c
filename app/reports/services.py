"""Filing a report: validate, process photos, store files, then the rows. The caller commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import hooks
from app.auth.access import sees_private_parts, shared_with_co_reporter
from app.auth.services import require_approved
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.grids.area import outside_area
from app.grids.index import grid_for_point
from app.grids.models import Grid
from app.models import Category, CoReporter, Photo, Report, ReportEvent, User, utcnow
from app.reports.geo import cell_of, valid_location
from app.reports.photos import ProcessedPhoto, Upload, check_photo, process_photo
from app.reports.voice import EXTENSIONS, read_voice
from app.storage import PhotoStore, new_key
from app.text import clean_text
from app.triage.workflow import Priority, Status

MAX_DESCRIPTION = 1000
LOCATION_SOURCES = ("device", "exif", "map", "address", "staff")
NO_LOCATION = "none"  # location needed: filed without a pin, a coordinator sets it
CLOCK_SKEW = timedelta(minutes=10)
MAX_OFFLINE_AGE = timedelta(days=14)


def categories() -> list[Category]:
    """Active categories, hazards first."""
    return list(
        db.session.scalars(
            select(Category)
            .where(Category.active.is_(True))
            .order_by(Category.hazard.desc(), Category.sort_order, Category.id)
        )
    )


def category_by_code(code: str) -> Category:
    """An active category by its code, or a 400 naming the problem."""
    cat = db.session.scalar(select(Category).where(Category.code == (code or "")))
    if cat is None or not cat.active:
        raise ValidationFailed(_l("Choose a category from the list."), code="unknown_category")
    return cat


def _float(value, what) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(_l("%(what)s must be a number.", what=what), code="invalid_number") from None


def _captured_at(value: Any, now: datetime) -> datetime:
    """When the rider filed it on the phone (offline outbox), bounded to something believable."""
    if not value:
        return now
    try:
        when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(_l("The capture time is not a valid date and time."), code="invalid_time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if when > now + CLOCK_SKEW or when < now - MAX_OFFLINE_AGE:
        return now
    return min(when, now)


def track_new_files(session: Session, store: PhotoStore, keys: Iterable[str]) -> None:
    """Delete these stored files unless the session's transaction commits."""
    session.info.setdefault("pending_files", []).extend((store, k) for k in keys)


@event.listens_for(Session, "after_commit")
def _files_committed(session):
    # after_commit also fires when a SAVEPOINT (begin_nested) is released: the files are only
    # safe once the outermost transaction commits.
    if not session.in_nested_transaction():
        session.info.pop("pending_files", None)


@event.listens_for(Session, "after_transaction_end")
def _files_abandoned(session, transaction):
    if transaction.parent is None and transaction.nested is False:
        for store, key in session.info.pop("pending_files", []):
            try:
                store.delete(key)
            except Exception:  # store unreachable: `flask storage check --fix` removes the orphan later
                import logging

                logging.getLogger(__name__).warning("could not remove orphan photo %s", key)


def _aware(when: datetime | None) -> datetime | None:
    """A photo's own time in UTC: a time without an offset is the county's local time."""
    if when is None:
        return None
    if when.tzinfo is None:
        from app.i18n import local_zone

        when = when.replace(tzinfo=local_zone())
    return when.astimezone(UTC)


def store_voice(store: PhotoStore, data: bytes, kind: str) -> str:
    """Write a voice note next to the photos (removed again unless the transaction commits); its key."""
    key = new_key(EXTENSIONS[kind])
    store.put(key, data)
    track_new_files(db.session, store, [key])
    return key


def store_photos(store: PhotoStore, processed: list[ProcessedPhoto]) -> list[Photo]:
    """Write display and thumbnail files (atomically) and return unsaved Photo rows."""
    rows, written = [], []
    try:
        for p in processed:
            key, thumb_key = new_key(), new_key()
            store.put(key, p.display)
            written.append(key)
            store.put(thumb_key, p.thumb)
            written.append(thumb_key)
            rows.append(
                Photo(
                    key=key,
                    thumb_key=thumb_key,
                    width=p.width,
                    height=p.height,
                    byte_size=len(p.display),
                    taken_at=_aware(p.taken_at),
                )
            )
    except Exception:
        for key in written:
            try:
                store.delete(key)
            except Exception:  # the store went away mid-write: `storage check --fix` finds the orphan
                pass
        raise
    track_new_files(db.session, store, written)
    return rows


def process_uploads(uploads: Sequence[Upload], max_photos: int) -> list[ProcessedPhoto]:
    """Run every upload through the photo pipeline (before anything is written).

    Every header is checked first, so a refused photo costs no decoding; then one photo at a time is
    decoded and re-encoded, its pixels freed before the next (what is kept is the small JPEGs).
    """
    if len(uploads) > max_photos:
        raise ValidationFailed(_l("At most %(n)d photos per report.", n=max_photos), code="too_many_photos")
    limits = {
        "max_pixels": current_app.config["MAX_PIXELS"],
        "max_decode_pixels": current_app.config["MAX_DECODE_PIXELS"],
    }
    for upload in uploads:
        check_photo(upload, **limits)
    return [process_photo(upload, **limits) for upload in uploads]


def stored_idempotency_key(raw: str | None) -> str | None:
    """A client's Idempotency-Key as it is stored: clean text of at most 100 characters, or None."""
    return None if raw is None else (clean_text(raw)[:100] or None)


def find_by_idempotency_key(user: User, key: str | None) -> Report | None:
    """The report this user already filed with this key (as stored_idempotency_key() gives it)."""
    if not key:
        return None
    return db.session.scalar(select(Report).where(Report.user_id == user.id, Report.idempotency_key == key))


def _texts(description: str, building: str, max_description: int) -> tuple[str, str]:
    """The description and the building / unit / lift number, cleaned and within their lengths."""
    description = clean_text(description)
    if len(description) > max_description:
        raise ValidationFailed(
            _l("The description is too long (at most %(n)d characters).", n=max_description),
            code="description_too_long",
        )
    building = clean_text(building)
    if len(building) > 100:
        raise ValidationFailed(
            _l("The building / unit / lift number is too long (at most 100 characters)."), code="building_too_long"
        )
    return description, building


def submit_report(
    user: User,
    store: PhotoStore,
    *,
    category: str,
    photos: Sequence[Upload],
    description: str = "",
    lat=None,
    lon=None,
    accuracy=None,
    location_source: str | None = None,
    building: str = "",
    idempotency_key: str | None = None,
    captured_at=None,
    source: str = "web",
    attributes: dict | None = None,
    contact: dict | None = None,
    address: str | None = None,
    require_photo: bool = True,
    max_description: int = MAX_DESCRIPTION,
    max_photos: int = 4,
    location_needed: bool = False,
    voice: Upload | None = None,
    voice_seconds=None,
) -> tuple[Report, bool]:
    """File a report, with photos and an optional voice note; returns (report, created). A repeated idempotency
    key returns the first report. With location_needed a report without any location is filed without a pin (an
    Open311 address no geocoder could place); the board shows it as "location needed" until a coordinator sets
    the pin."""
    idempotency_key = stored_idempotency_key(idempotency_key)
    existing = find_by_idempotency_key(user, idempotency_key)
    if existing is not None:
        return existing, False
    require_approved(user)
    cat = category_by_code(clean_text(category))
    description, building = _texts(description, building, max_description)
    if require_photo and not photos:
        raise ValidationFailed(_l("Add at least one photo."), code="photo_required")
    recording = read_voice(voice, voice_seconds) if voice is not None else None
    lat_f, lon_f, acc = _float(lat, "lat"), _float(lon, "lon"), _float(accuracy, "accuracy")
    if (lat_f is None) != (lon_f is None):
        raise ValidationFailed(_l("Send both latitude and longitude."), code="invalid_location")
    if lat_f is not None and not valid_location(lat_f, lon_f):
        raise ValidationFailed(_l("The location is out of range."), code="invalid_location")
    if acc is not None and not (0 <= acc <= 100_000):
        raise ValidationFailed(_l("The accuracy is out of range."), code="invalid_accuracy")
    now = utcnow()
    when = _captured_at(captured_at, now)
    processed = process_uploads(photos, max_photos)
    if lat_f is None:
        gps = next((p.gps for p in processed if p.gps), None) if processed else None
        if gps is not None:
            lat_f, lon_f, acc, location_source = gps[0], gps[1], None, "exif"
        elif location_needed:
            location_source = NO_LOCATION
        else:
            raise ValidationFailed(
                _l("We need a location: allow location access, use a photo with GPS, or tap the map."),
                code="location_required",
            )
    if location_source != NO_LOCATION:
        location_source = location_source if location_source in LOCATION_SOURCES else "device"

    photo_rows = store_photos(store, processed)
    voice_key = store_voice(store, recording[0], recording[1]) if recording else None
    report = Report(
        user=user,
        category=cat,
        description=description,
        building=building,
        lat=lat_f,
        lon=lon_f,
        cell=cell_of(lat_f, lon_f) if lat_f is not None else None,
        accuracy=acc,
        location_source=location_source,
        source=source,
        address=address,
        attributes=attributes or {},
        contact=contact or {},
        idempotency_key=idempotency_key,
        captured_at=when,
        created_at=now,
        updated_at=now,
        priority=Priority.URGENT.value if cat.hazard else Priority.NORMAL.value,
        department_id=cat.default_department_id,
        accept_due_at=now + timedelta(hours=cat.accept_hours),
        resolve_due_at=now + timedelta(hours=cat.resolve_hours),
        status=Status.SUBMITTED.value,
        version=1,
        voice_key=voice_key,
        voice_type=recording[1] if recording else None,
        voice_seconds=recording[2] if recording else None,
    )
    report.grid_id = grid_for_point(lat_f, lon_f) if lat_f is not None else None
    report.department_id = default_department_id(cat, report.grid_id)
    report.place = describe_place(lat_f, lon_f, report.grid_id) if lat_f is not None else None
    report.outside_area = outside_area(lat_f, lon_f) if lat_f is not None else False  # accepted, but flagged
    report.photos = photo_rows
    try:
        with db.session.begin_nested():
            db.session.add(report)
            db.session.flush()
    except IntegrityError:
        # Another request with the same key won the race: answer with its report.
        for p in photo_rows:
            store.delete(p.key)
            store.delete(p.thumb_key)
        if voice_key:
            store.delete(voice_key)
        existing = find_by_idempotency_key(user, idempotency_key)
        if existing is None:
            raise
        return existing, False
    report.reference = make_reference(report.id, now)
    db.session.add(
        ReportEvent(
            report=report,
            actor=user,
            kind=Status.SUBMITTED.value,
            created_at=now,
            to_status=Status.SUBMITTED.value,
            details={"source": source},
        )
    )
    db.session.flush()
    hooks.emit(hooks.FILED, report)
    return report, True


def make_reference(report_id: int, when: datetime) -> str:
    """The reference riders quote, e.g. GS-2026-000123."""
    return f"GS-{when.year}-{report_id:06d}"


def default_department_id(cat: Category, grid_id: int | None) -> int | None:
    """Dispatch by territory (属地): the grid's department, unless the category always goes to its own (lifts
    to market supervision wherever they are); the category's department when the grid has none."""
    if grid_id is not None and not cat.own_department:
        grid_department = db.session.scalar(select(Grid.department_id).where(Grid.id == grid_id))
        if grid_department is not None:
            return grid_department
    return cat.default_department_id


def describe_place(lat: float, lon: float, grid_id: int | None) -> dict | None:
    """The report's place by name (its grid, the nearest landmark), worked out when it is filed or moved."""
    from app.reports.places import describe

    grid_name = db.session.scalar(select(Grid.name).where(Grid.id == grid_id)) if grid_id is not None else None
    return describe(lat, lon, grid_name)


def followers(report: Report) -> list[User]:
    """The rider who filed the report and its co-reporters (those told of its progress)."""
    co = db.session.scalars(
        select(User).join(CoReporter, CoReporter.user_id == User.id).where(CoReporter.report_id == report.id)
    )
    return [report.user, *co]


def get_report(report_id: int) -> Report:
    """A report by id, or NotFound."""
    report = db.session.get(Report, report_id)
    if report is None:
        raise NotFound(_l("No such report."))
    return report


def my_reports(user: User, page: int = 1, per_page: int = 20) -> tuple[list[Report], int]:
    """The rider's own reports and those they co-reported, newest first, with the total."""
    followed = select(CoReporter.report_id).where(CoReporter.user_id == user.id)
    cond = (Report.user_id == user.id) | (Report.id.in_(followed))
    total = db.session.scalar(select(func.count()).select_from(Report).where(cond))
    rows = db.session.scalars(
        select(Report)
        .where(cond)
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return list(rows), total or 0


def timeline(report: Report, include_internal: bool, co_reporter: User | None = None) -> list[ReportEvent]:
    """The report's events, oldest first; riders do not see internal notes, a co-reporter only what is shared
    with them."""
    q = select(ReportEvent).where(ReportEvent.report_id == report.id)
    if not include_internal:
        q = q.where(ReportEvent.internal.is_(False))
    if co_reporter is not None:
        q = q.where(shared_with_co_reporter(co_reporter.id))
    return list(db.session.scalars(q.order_by(ReportEvent.created_at, ReportEvent.id)))


def shared_photos(report: Report, co_reporter: User) -> list[Photo]:
    """The report's photos a co-reporter sees: their own and the staff's (never the rider's or another's)."""
    return list(
        db.session.scalars(
            select(Photo)
            .join(ReportEvent, ReportEvent.id == Photo.event_id)
            .where(Photo.report_id == report.id, shared_with_co_reporter(co_reporter.id))
            .order_by(Photo.id)
        )
    )


class Shown(NamedTuple):
    """What a rider's page shows of a report to one viewer."""

    whole: bool  # False: a co-reporter's share (no description or building, nobody else's photos or comments)
    events: list[ReportEvent]
    photos: list[Photo]


def shown_to(user: User, report: Report) -> Shown:
    """The report's public timeline and photos as the user sees them: all of it, or a co-reporter's share."""
    if sees_private_parts(user, report):
        return Shown(True, timeline(report, include_internal=False), list(report.photos))
    return Shown(False, timeline(report, include_internal=False, co_reporter=user), shared_photos(report, user))
