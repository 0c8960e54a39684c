"""Open311 GeoReport v2 operations: the service catalogue, filing a request, querying requests.

Plain functions over the models: no Flask request objects. Views in app.api.open311 render the
plain dicts returned here as JSON or XML (the same keys, in the spec's order).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import defer, selectinload

from app.errors import NotFound, PermissionDenied, ValidationFailed
from app.extensions import db
from app.i18n import iso
from app.inputs import whole_number
from app.models import Category, Photo, Report, ReportEvent, Role, User, utcnow
from app.reports import services as report_services
from app.reports.geo import valid_location
from app.reports.photos import Upload
from app.text import clean_text
from app.triage.workflow import CLOSED_STATUSES, OPEN_STATUSES, Status, is_open

MAX_DESCRIPTION = 4000
PUBLIC_KINDS = ("transition", "comment")  # the timeline events the feeds show (public_update)
PUBLIC_PHOTO_KINDS = ("report", "after")
MAX_RANGE = timedelta(days=90)
MAX_PAGE_SIZE = 1000
MAX_MEDIA_URLS = 10
NOT_PINPOINTED = "#NOTPINPOINTED#"  # FixMyStreet's address_id for a report without a pin
CONTACT_FIELDS = ("email", "first_name", "last_name", "phone", "device_id", "account_id")
# When the attribute definitions below last changed: move it with them (Service Discovery's changeset is the
# later of this and the latest change of a category row).
ATTRIBUTES_CHANGED = datetime(2026, 11, 29, 13, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Attribute:
    """One Open311 service attribute (a question asked when filing)."""

    code: str
    datatype: str  # string | number | datetime | text | singlevaluelist | multivaluelist
    description: object  # a lazy string
    required: bool = False
    max_length: int = 30
    values: tuple[tuple[str, object], ...] = field(default=())
    datatype_description: object = None


_DANGER = Attribute(
    "danger",
    "singlevaluelist",
    _l("Is anyone in danger now?"),
    required=True,
    values=(("yes", _l("Yes, someone is in danger now")), ("no", _l("No")), ("unknown", _l("I don't know"))),
)
_BUILDING = Attribute(
    "building",
    "string",
    _l("Building (name or number), if it is in or near one"),
    datatype_description=_l("At most 30 characters, e.g. 3栋"),
)
_UNIT = Attribute(
    "unit", "string", _l("Unit or entrance"), datatype_description=_l("At most 30 characters, e.g. 2单元")
)
_LIFT = Attribute(
    "lift_number",
    "string",
    _l("Lift number (on the plate inside the car)"),
    datatype_description=_l("At most 30 characters"),
)
_VEHICLE = Attribute(
    "vehicle_type",
    "singlevaluelist",
    _l("What kind of vehicle?"),
    values=(
        ("car", _l("Car or van")),
        ("motorbike", _l("Motorbike or e-bike")),
        ("bicycle", _l("Bicycle")),
        ("other", _l("Other")),
    ),
)
_WHEN = Attribute(
    "noise_time",
    "singlevaluelist",
    _l("When does the noise happen?"),
    values=(
        ("day", _l("During the day")),
        ("night", _l("At night (22:00-06:00)")),
        ("always", _l("All day and night")),
    ),
)
_POLE = Attribute(
    "pole_number", "string", _l("Number painted on the lamp post"), datatype_description=_l("At most 30 characters")
)

# The questions for each category, in the order they are asked; building and unit fill report.building.
ATTRIBUTES: dict[str, tuple[Attribute, ...]] = {
    "elevator_hazard": (_DANGER, _BUILDING, _UNIT, _LIFT),
    "fire_lane_blocked": (_DANGER, _BUILDING, _UNIT),
    "manhole_missing": (_DANGER, _BUILDING),
    "illegal_parking": (_VEHICLE, _BUILDING),
    "noise": (_WHEN, _BUILDING, _UNIT),
    "streetlight_broken": (_POLE, _BUILDING),
}
DEFAULT_ATTRIBUTES = (_BUILDING, _UNIT)
BUILDING_PARTS = ("building", "unit", "lift_number")


def attributes_for(code: str) -> tuple[Attribute, ...]:
    """The attributes of one service code."""
    return ATTRIBUTES.get(code, DEFAULT_ATTRIBUTES)


# ---- services ---------------------------------------------------------------------------------


def changeset() -> str:
    """Service Discovery's changeset: a W3C datetime that moves whenever the service list or a service
    definition changes (a category added, switched on or off, renamed, its questions changed)."""
    latest = db.session.scalar(select(func.max(Category.updated_at)))
    return iso(max(latest, ATTRIBUTES_CHANGED) if latest else ATTRIBUTES_CHANGED)


def service_list(lang: str) -> list[dict]:
    """GET services: one service per active category, hazards first."""
    return [_service(c, lang) for c in report_services.categories()]


def _service(cat: Category, lang: str) -> dict:
    group = _l("Safety hazards") if cat.hazard else _l("City management")
    return {
        "service_code": cat.code,
        "service_name": cat.name(lang),
        "description": (cat.description_zh if lang == "zh" else cat.description_en) or None,
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join(dict.fromkeys([cat.name_zh, cat.name_en, cat.code.replace("_", " ")])),
        "group": str(group),
    }


def service_definition(code: str) -> dict:
    """GET services/<code>: the attributes of one service, or NotFound."""
    cat = _active_category(code)
    if cat is None:
        raise NotFound(_l("There is no service with the code %(code)s.", code=clean_text(code)[:40]))
    attrs = []
    for order, a in enumerate(attributes_for(cat.code), start=1):
        attrs.append(
            {
                "variable": True,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": str(a.datatype_description) if a.datatype_description else None,
                "order": order,
                "description": str(a.description),
                "values": [{"key": k, "name": str(n)} for k, n in a.values],
            }
        )
    return {"service_code": cat.code, "attributes": attrs}


def _active_category(code: str) -> Category | None:
    cat = db.session.scalar(select(Category).where(Category.code == clean_text(code)))
    return cat if cat is not None and cat.active else None


def service_notice(cat: Category) -> str:
    """What happens next, from the category's deadlines."""
    return str(
        _l(
            "We aim to accept this within %(accept)s hours and to resolve it within %(resolve)s hours.",
            accept=_hours(cat.accept_hours),
            resolve=_hours(cat.resolve_hours),
        )
    )


def _hours(h: float) -> str:
    return str(int(h)) if float(h).is_integer() else f"{h:.1f}"


# ---- filing -------------------------------------------------------------------------------------


class AddressLocator:
    """Forward geocoding of a typed address through geopy (only when a geocoder is configured)."""

    def __init__(self, name: str, user_agent: str, timeout: float):
        self._geocoder = None
        if name:
            from geopy.geocoders import get_geocoder_for_service

            self._geocoder = get_geocoder_for_service(name)(user_agent=user_agent, timeout=timeout)
        self.timeout = timeout

    @property
    def available(self) -> bool:
        return self._geocoder is not None

    def locate(self, address: str) -> tuple[float, float] | None:
        """(lat, lon) of the address, or None when it is not found or the geocoder fails."""
        if self._geocoder is None:
            return None
        try:
            found = self._geocoder.geocode(address, timeout=self.timeout)
        except Exception:  # network down, timeout, quota: the client is told to send coordinates
            return None
        return (found.latitude, found.longitude) if found else None


def address_locator() -> AddressLocator:
    """The app's address locator (tests put a fake one into app.extensions)."""
    app = current_app._get_current_object()
    if "address_locator" not in app.extensions:
        app.extensions["address_locator"] = AddressLocator(
            app.config["GEOCODER"], app.config["GEOCODER_USER_AGENT"], app.config["GEOCODER_TIMEOUT"]
        )
    return app.extensions["address_locator"]


def user_for_api_key(api_key: str | None) -> User:
    """The active user who owns this personal API token, or a 403."""
    from app.auth.services import user_for_token

    if not (api_key or "").strip():
        raise PermissionDenied(
            _l("An api_key is required to file a request: use a personal API token from your GridSnap profile page."),
            code="api_key_missing",
        )
    user = user_for_token(api_key.strip())
    if user is None:
        raise PermissionDenied(
            _l("Invalid api_key: the token is unknown, revoked, or its account is disabled."), code="api_key_invalid"
        )
    return user


def _text(form: Mapping[str, str], name: str, limit: int = 200) -> str:
    value = clean_text(form.get(name))
    if len(value) > limit:
        raise ValidationFailed(_l("%(name)s is too long (at most %(n)d characters).", name=name, n=limit))
    return value


def check_attributes(code: str, given: Mapping[str, list[str]]) -> dict:
    """Validate attribute[...] answers against the service definition; unknown codes are ignored."""
    answers: dict = {}
    for a in attributes_for(code):
        values = [c for c in (clean_text(v) for v in given.get(a.code, [])) if c]
        if not values:
            if a.required:
                raise ValidationFailed(
                    _l("attribute[%(code)s] is required: %(question)s", code=a.code, question=a.description),
                    code="attribute_required",
                )
            continue
        if a.datatype != "multivaluelist" and len(values) > 1:
            raise ValidationFailed(_l("attribute[%(code)s] takes one value.", code=a.code), code="attribute_invalid")
        keys = [k for k, _n in a.values]
        if a.values and any(v not in keys for v in values):
            raise ValidationFailed(
                _l("attribute[%(code)s] must be one of: %(keys)s.", code=a.code, keys=", ".join(keys)),
                code="attribute_invalid",
            )
        if a.datatype == "string" and (len(values[0]) > a.max_length or "\n" in values[0]):
            raise ValidationFailed(
                _l("attribute[%(code)s] must be one line of at most %(n)d characters.", code=a.code, n=a.max_length),
                code="attribute_invalid",
            )
        answers[a.code] = values if a.datatype == "multivaluelist" else values[0]
    return answers


def _media_url(value: str) -> str | None:
    value = clean_text(value)
    if not value:
        return None
    if len(value) > 1000 or not re.match(r"^https?://[^\s/]+\S*$", value):
        raise ValidationFailed(_l("media_url must be an http or https URL."), code="invalid_media_url")
    return value


def file_request(
    user: User,
    store,
    form: Mapping[str, str],
    attributes: Mapping[str, list[str]],
    media: Sequence[Upload] = (),
    idempotency_key: str | None = None,
) -> tuple[Report, bool]:
    """POST requests: validate the Open311 fields and file a report with the uploaded photos; the caller
    commits."""
    code = clean_text(form.get("service_code"))
    if not code:
        raise ValidationFailed(_l("service_code is required."), code="service_code_missing")
    if _active_category(code) is None:  # the spec: 404 for a service_code that is not provided
        raise NotFound(
            _l("Unknown service_code %(code)s: see services.json for the list.", code=code[:40]), code="unknown_service"
        )
    answers = check_attributes(code, attributes)
    description = form.get("description") or ""
    if len(description.strip()) > MAX_DESCRIPTION:
        raise ValidationFailed(
            _l("The description is too long (at most %(n)d characters).", n=MAX_DESCRIPTION),
            code="description_too_long",
        )
    contact = {k: _text(form, k) for k in CONTACT_FIELDS if clean_text(form.get(k))}
    getlist = form.getlist if hasattr(form, "getlist") else lambda k: [form.get(k)]
    external = [u for u in (_media_url(v or "") for v in getlist("media_url")) if u][:MAX_MEDIA_URLS]
    if external:  # FixMyStreet's multi_photos repeats media_url: every link is kept for the staff
        answers["media_url"] = external[0]
        if len(external) > 1:
            answers["media_urls"] = external
    address = _text(form, "address_string", 300) or None
    address_id = _text(form, "address_id", 100)
    if address_id and address_id != NOT_PINPOINTED:  # no gazetteer yet: kept for the coordinator to read
        answers["address_id"] = address_id
    lat, lon = clean_text(form.get("lat")), clean_text(form.get("long"))
    source = "device"
    if bool(lat) != bool(lon):
        raise ValidationFailed(_l("Send both lat and long."), code="invalid_location")
    if lat and not valid_location(lat, lon):
        raise ValidationFailed(_l("lat and long must be WGS-84 degrees in range."), code="invalid_location")
    if not lat:
        if not (address or address_id):
            raise ValidationFailed(
                _l("A location is required: send lat and long, or address_string."), code="location_required"
            )
        # Placed by the geocoder when it can; otherwise filed as "location needed" for a coordinator.
        lat, lon = locate_address(address) or (None, None)
        source = "address"
    building = " ".join(answers[p] for p in BUILDING_PARTS if answers.get(p))
    return report_services.submit_report(
        user,
        store,
        category=code,
        photos=list(media),
        max_photos=current_app.config["MAX_PHOTOS"],
        description=description,
        lat=lat,
        lon=lon,
        location_source=source,
        building=building,
        source="open311",
        attributes=answers,
        contact=contact,
        address=address,
        require_photo=False,
        max_description=MAX_DESCRIPTION,
        idempotency_key=idempotency_key,
        location_needed=True,
    )


def locate_address(address: str | None) -> tuple[float, float] | None:
    """(lat, lon) of a typed address from the places gazetteer (a landmark it names), else the configured
    geocoder, or None (not found, no geocoder, offline)."""
    if not address:
        return None
    from app.reports.places import locate_text

    found = locate_text(address) or address_locator().locate(address)
    return found if found is not None and valid_location(*found) else None


# ---- querying -----------------------------------------------------------------------------------


@dataclass
class RequestQuery:
    """The parsed filters of GET requests."""

    ids: list[str] | None = None
    codes: list[str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    statuses: list[str] | None = None
    bbox: tuple[float, float, float, float] | None = None
    page: int = 1
    page_size: int = MAX_PAGE_SIZE


def parse_w3(value: str, name: str) -> datetime:
    """A W3C date and time as UTC; a 400 naming the argument when unreadable."""
    text = clean_text(value).replace("Z", "+00:00").replace("z", "+00:00")
    # An unencoded "+08:00" in a query string arrives as " 08:00".
    text = re.sub(r"(T[\d:.]+) (\d{2}:?\d{2})$", r"\1+\2", text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            _l("%(name)s must be a w3 date and time, e.g. 2026-01-01T00:00:00Z.", name=name), code="invalid_date"
        ) from None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before the calendar's first UTC moment: no bound there
        return datetime.min.replace(tzinfo=UTC) if when.year == 1 else datetime.max.replace(tzinfo=UTC)


def _int(value: str, name: str, low: int, high: int) -> int:
    n = whole_number(value, high)  # ASCII digits only: int() reads "1_0" as 10 and "１" as 1
    if n is None or n < low:
        raise ValidationFailed(
            _l("%(name)s must be a whole number from %(low)d to %(high)d.", name=name, low=low, high=high),
            code="invalid_number",
        )
    return n


def _split(args: Mapping[str, str], name: str) -> list[str]:
    """A comma list; a repeated key (status=open&status=closed) means the same as the comma form."""
    values = args.getlist(name) if hasattr(args, "getlist") else [args.get(name) or ""]
    return [c for c in (clean_text(v) for value in values for v in (value or "").split(",")) if c]


def parse_query(args: Mapping[str, str], now: datetime | None = None) -> RequestQuery:
    """Check the GET requests arguments; bad values are a 400 naming the argument."""
    now = now or utcnow()
    q = RequestQuery()
    if args.get("page"):
        q.page = _int(args["page"], "page", 1, 1_000_000)
    if args.get("page_size"):
        q.page_size = _int(args["page_size"], "page_size", 1, MAX_PAGE_SIZE)
    ids = _split(args, "service_request_id")
    if ids:  # "This overrides all other arguments."
        q.ids = ids[:MAX_PAGE_SIZE]
        return q
    q.codes = _split(args, "service_code") or None
    statuses = _split(args, "status")
    if any(s not in ("open", Status.CLOSED.value) for s in statuses):
        raise ValidationFailed(_l("status must be open, closed, or both separated by a comma."), code="invalid_status")
    q.statuses = sorted(set(statuses)) or None
    start = parse_w3(args["start_date"], "start_date") if args.get("start_date") else None
    end = parse_w3(args["end_date"], "end_date") if args.get("end_date") else None
    if start and end:
        if end < start:
            raise ValidationFailed(_l("end_date is before start_date."), code="invalid_date_range")
        if end - start > MAX_RANGE:
            raise ValidationFailed(
                _l("start_date and end_date may be at most 90 days apart."), code="invalid_date_range"
            )
    elif start:
        end = _shift(start, MAX_RANGE)
    elif end:
        start = _shift(end, -MAX_RANGE)
    else:
        start = now - MAX_RANGE
    q.start, q.end = start, end
    if args.get("bbox"):
        q.bbox = _bbox(args["bbox"])
    return q


def _shift(when: datetime, by: timedelta) -> datetime | None:
    """when + by, or None (no bound) past the calendar's ends."""
    try:
        return when + by
    except OverflowError:
        return None


def _bbox(value: str) -> tuple[float, float, float, float]:
    message = _l("bbox must be minlon,minlat,maxlon,maxlat in WGS-84 degrees.")
    parts = value.split(",")
    try:
        box = tuple(float(p) for p in parts)
    except ValueError:
        raise ValidationFailed(message, code="invalid_bbox") from None
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        raise ValidationFailed(message, code="invalid_bbox")
    minlon, minlat, maxlon, maxlat = box
    if not (-180 <= minlon <= maxlon <= 180 and -90 <= minlat <= maxlat <= 90):
        raise ValidationFailed(message, code="invalid_bbox")
    return box


def published():
    """The reports Open311 shows: every filed one (a submitted one too: clients fetch what they just
    posted) except rejected ones, which were found not real, unless GRIDSNAP_OPEN311_INCLUDE_REJECTED."""
    if current_app.config.get("OPEN311_INCLUDE_REJECTED"):
        return Report.reference.is_not(None)
    return and_(Report.reference.is_not(None), Report.status != Status.REJECTED.value)


def published_to(reader: User | None):
    """SQL: the reports whose updates this client reads: the published ones, and those its api_key's account
    filed (staff: every filed one), rejected ones too, so that the system which filed a request learns it was
    closed (FixMyStreet otherwise keeps it open for ever)."""
    if reader is None:
        return published()
    if reader.is_staff:
        return Report.reference.is_not(None)
    return or_(published(), and_(Report.reference.is_not(None), Report.user_id == reader.id))


def find_requests(q: RequestQuery, with_photos: bool = False) -> list[Report]:
    """The published reports matching the query, newest first, one page (at most 1000)."""
    stmt = select(Report).where(published())
    if q.ids is not None:
        stmt = stmt.where(Report.reference.in_(q.ids))
    else:
        if q.codes:
            stmt = stmt.join(Category, Category.id == Report.category_id).where(Category.code.in_(q.codes))
        if q.statuses == ["open"]:
            stmt = stmt.where(Report.status.in_([s.value for s in OPEN_STATUSES]))
        elif q.statuses == [Status.CLOSED.value]:
            stmt = stmt.where(Report.status.in_([s.value for s in CLOSED_STATUSES]))
        if q.start:
            stmt = stmt.where(Report.created_at >= q.start)
        if q.end:
            stmt = stmt.where(Report.created_at <= q.end)
        if q.bbox:
            minlon, minlat, maxlon, maxlat = q.bbox
            stmt = stmt.where(Report.lat.between(minlat, maxlat), Report.lon.between(minlon, maxlon))
    # Contact details are never published; photos and attributes only serve media_url.
    loads = [selectinload(Report.category), selectinload(Report.department), defer(Report.contact)]
    if with_photos:  # only when public media are switched on
        loads.append(selectinload(Report.photos))
    else:
        loads.append(defer(Report.attributes))
    stmt = (
        stmt.options(*loads)
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(q.page_size)
        .offset((q.page - 1) * q.page_size)
    )
    return list(db.session.scalars(stmt))


def get_request(service_request_id: str) -> Report:
    """One published report by its reference, or NotFound."""
    wanted = clean_text(service_request_id)[:40]
    report = db.session.scalar(select(Report).where(Report.reference == wanted, published()))
    if report is None:
        raise NotFound(_l("There is no service request %(id)s.", id=wanted))
    return report


def public_photo(photo_id: int) -> Photo | None:
    """A report's own photo, or the staff's "after" photo of an update (never a rider's follow-up), of a
    published report; or None."""
    return db.session.scalar(
        select(Photo)
        .join(Report, Report.id == Photo.report_id)
        .where(Photo.id == photo_id, Photo.kind.in_(PUBLIC_PHOTO_KINDS), published())
    )


def public_notes(reports: list[Report]) -> dict[int, tuple[str, datetime]]:
    """The latest public note of each report and when it was written: non-internal notes by staff or
    handlers, never riders, nor words a client system posted (servicerequestupdates)."""
    if not reports:
        return {}
    rows = db.session.execute(
        select(ReportEvent.report_id, ReportEvent.note, ReportEvent.created_at)
        .where(ReportEvent.report_id.in_([r.id for r in reports]), public_update(), by_staff(), ReportEvent.note != "")
        .order_by(ReportEvent.created_at, ReportEvent.id)
    )
    return {report_id: (note, at) for report_id, note, at in rows if note}  # later rows win: the latest note


def public_update():
    """SQL: a timeline event the public feeds show (a move or a staff comment, not internal, not a rider's)."""
    return and_(
        ReportEvent.internal.is_(False),
        ReportEvent.kind.in_(PUBLIC_KINDS),
        or_(ReportEvent.kind == "transition", and_(ReportEvent.note != "", by_staff())),
    )


def by_staff():
    """SQL: the event's author is staff or a handler (a rider's words are never published; nor a robot's
    move's, which has no author, though the move itself is)."""
    return select(User.id).where(User.id == ReportEvent.actor_id, User.role != Role.RIDER.value).exists()


def request_documents(reports: list[Report], lang: str, media_urls: Mapping[int, str | None]) -> list[dict]:
    """The service request documents of these reports (notes and notices looked up once)."""
    notes = public_notes(reports)
    notices: dict[int, str] = {}
    for r in reports:
        if r.category_id not in notices:
            notices[r.category_id] = service_notice(r.category)
    return [request_dict(r, lang, notes.get(r.id), media_urls.get(r.id), notices[r.category_id]) for r in reports]


def request_dict(
    report: Report, lang: str, note: tuple[str, datetime] | None, media_url: str | None, notice: str
) -> dict:
    """One service request in the spec's order; nothing about who filed it. updated_datetime is the
    latest change of anything shown: the row's own, or a later public note (a comment moves no row)."""
    text, noted_at = note or (None, None)
    updated = max(report.updated_at, noted_at) if noted_at else report.updated_at
    return {
        "service_request_id": report.reference,
        "status": "open" if is_open(report.status) else Status.CLOSED.value,
        "status_notes": text or None,
        "service_name": report.category.name(lang),
        "service_code": report.category.code,
        "description": report.description or None,
        "agency_responsible": report.department.name(lang) if report.department else None,
        "service_notice": notice,
        "requested_datetime": iso(report.created_at),
        "updated_datetime": iso(updated),
        "expected_datetime": iso(report.due_at),
        "address": report.address or None,
        "address_id": None,
        "zipcode": None,
        "lat": report.lat,
        "long": report.lon,
        "media_url": media_url,
    }
