"""mySociety's GeoReport v2 updates extension, as FixMyStreet speaks it: GET servicerequestupdates (the public
updates in a window) and POST servicerequestupdates (a citizen's update from the client system).

Plain functions over the models, no Flask request objects; app.api.open311 renders what they return.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select

from app.api.open311_services import (
    MAX_DESCRIPTION,
    MAX_MEDIA_URLS,
    MAX_RANGE,
    _media_url,
    _text,
    by_staff,
    get_request,
    parse_w3,
    public_update,
    published_to,
)
from app.auth.access import handles
from app.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.i18n import iso, outcome_label
from app.models import Photo, Report, ReportEvent, User, utcnow
from app.reports.photos import Upload
from app.reports.services import process_uploads
from app.text import clean_text
from app.triage.services import attach_photos, follows
from app.triage.workflow import LABELS, Outcome, Status, is_open

UPDATE_KIND = "update"  # a timeline event: a citizen's update posted by an Open311 client; never public here
DEFAULT_WINDOW = timedelta(days=1)
MAX_UPDATES = 5000
# FixMyStreet sends OPEN or CLOSED, or with extended statuses one of these (any case); a status here is what
# the client believes, kept with the update: it moves nothing.
CLIENT_STATUSES = frozenset(
    {
        "open",
        "closed",  # not a status: FixMyStreet's word
        "fixed",
        "in_progress",  # not a status: FixMyStreet's word
        "action_scheduled",
        "investigating",
        "duplicate",  # not a status: FixMyStreet's word
        "not_councils_responsibility",
        "no_further_action",
        "internal_referral",
        "for_triage",
        "cancelled",
        "reopen",
    }
)
UPDATE_CONTACT = ("email", "first_name", "last_name", "phone", "account_id")
# GRIDSNAP_OPEN311_EXTENDED_STATUSES: the status after an update in the words FixMyStreet's Open311::map_state
# reads whatever its body's settings ("closed" alone it shows as fixed unless the body sends extended statuses).
EXTENDED_STATUSES = {
    Status.SUBMITTED: "open",
    Status.ACCEPTED: "investigating",
    Status.ASSIGNED: "action_scheduled",
    Status.IN_PROGRESS: "in_progress",  # not a status: FixMyStreet's word
    Status.RESOLVED: "fixed",
    Status.REJECTED: "no_further_action",  # found not real: nothing will be done
    Status.DUPLICATE: "duplicate",  # not a status: FixMyStreet's word
}
EXTENDED_OUTCOMES = {
    Outcome.FIXED: "fixed",
    Outcome.NOT_RESPONSIBLE: "not_councils_responsibility",
    Outcome.UNABLE_TO_FIX: "no_further_action",
}
ONE_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class UpdateWindow:
    """The stored times [lower, upper) whose updated_datetime, shown to the second, lies in [start, end]."""

    lower: datetime
    upper: datetime


def _to_second(when: datetime, up: bool) -> datetime:
    whole = when.replace(microsecond=0)
    return whole + ONE_SECOND if up and whole != when else whole


def parse_window(args: Mapping[str, str], now: datetime | None = None) -> UpdateWindow:
    """start_date and end_date (W3C, both inclusive, as FixMyStreet's poller reads them); without an end,
    now; without a start, a day before the end; at most 90 days."""
    end = parse_w3(args["end_date"], "end_date") if args.get("end_date") else (now or utcnow())
    start = parse_w3(args["start_date"], "start_date") if args.get("start_date") else end - DEFAULT_WINDOW
    if end < start:
        raise ValidationFailed(_l("end_date is before start_date."), code="invalid_date_range")
    if end - start > MAX_RANGE:
        raise ValidationFailed(_l("start_date and end_date may be at most 90 days apart."), code="invalid_date_range")
    # updated_datetime is shown to the second: an update is in the window when that shown second is, so
    # consecutive windows [a, b], [b, c] miss nothing, and one asked again answers the same.
    return UpdateWindow(_to_second(start, up=True), _to_second(end, up=False) + ONE_SECOND)


def find_updates(window: UpdateWindow, reader: User | None = None) -> list:
    """The public updates in the window of the reports this client reads (published_to), oldest first: moves
    (with their note when a staff member or handler wrote it) and staff comments."""
    rows = db.session.execute(
        select(
            ReportEvent.id,
            ReportEvent.created_at,
            ReportEvent.kind,
            ReportEvent.to_status,
            ReportEvent.note,
            ReportEvent.details,
            by_staff().label("staff"),
            Report.reference,
            Report.status,
            Report.outcome,
        )
        .join(Report, Report.id == ReportEvent.report_id)
        .where(
            published_to(reader),
            public_update(),
            ReportEvent.created_at >= window.lower,
            ReportEvent.created_at < window.upper,
        )
        .order_by(ReportEvent.created_at, ReportEvent.id)
        .limit(MAX_UPDATES + 1)
    ).all()
    if len(rows) > MAX_UPDATES:  # never a silent cut: a poller would lose what lies past it
        raise ValidationFailed(
            _l("More than %(n)d updates in this window: ask for a shorter one.", n=MAX_UPDATES), code="too_many"
        )
    return rows


def after_photos(event_ids: list[int]) -> dict[int, int]:
    """The first "after" photo of each of these events (a move to resolved may carry the fix's photo)."""
    if not event_ids:
        return {}
    found: dict[int, int] = {}
    for event_id, photo_id in db.session.execute(
        select(Photo.event_id, Photo.id)
        .where(Photo.event_id.in_(event_ids), Photo.kind == "after")
        .order_by(Photo.id.desc())
    ):
        found[event_id] = photo_id  # the lowest id wins
    return found


def update_status(status: str, outcome: str | None, extended: bool) -> str:
    """The status after an update: open or closed, or with extended statuses FixMyStreet's finer word."""
    if not extended:
        return "open" if is_open(status) else Status.CLOSED.value
    if status == Status.CLOSED:
        return EXTENDED_OUTCOMES.get(outcome, Status.CLOSED.value)
    return EXTENDED_STATUSES.get(status, Status.CLOSED.value)


def update_documents(rows, media_url: Callable[[int], str] | None, extended: bool = False) -> list[dict]:
    """The request_update documents in the extension's order: update_id, service_request_id, status,
    updated_datetime, description, media_url."""
    photos = after_photos([r.id for r in rows]) if media_url else {}
    documents = []
    for r in rows:
        status = r.to_status or r.status  # the status after the update (a comment carries the one it saw)
        note = r.note if r.staff else ""
        if not note and r.kind == "transition":
            note = str(LABELS.get(status, status))
            outcome = (r.details or {}).get("outcome") if status == Status.CLOSED else None
            if outcome:  # open/closed alone tells a client nothing of it (FixMyStreet shows "fixed")
                note = gettext("%(status)s: %(outcome)s", status=note, outcome=outcome_label(outcome))
        photo = photos.get(r.id)
        documents.append(
            {
                "update_id": str(r.id),
                "service_request_id": r.reference,
                "status": update_status(status, (r.details or {}).get("outcome") or r.outcome, extended),
                "updated_datetime": iso(r.created_at),
                "description": note,
                "media_url": media_url(photo) if media_url and photo else None,
            }
        )
    return documents


def post_update(
    user: User, params: Mapping[str, str], photos: Sequence[Upload] = (), max_photos: int = 4
) -> tuple[ReportEvent, bool]:
    """POST servicerequestupdates: a citizen's update kept on the report's timeline for the staff, never a
    move (a "still there" or a client's CLOSED changes no status), with its uploaded photos as follow-up
    photos. A repeated update_id from the same account returns the first; returns (event, created). The
    caller commits."""
    wanted = clean_text(params.get("service_request_id"), single_line=True)
    if not wanted:
        raise ValidationFailed(_l("service_request_id is required."), code="service_request_id_missing")
    report = get_request(wanted)
    if not (user.is_staff or handles(user, report) or follows(user, report)):
        raise PermissionDenied(
            _l("This api_key may post updates only to the requests its account filed."), code="not_yours"
        )
    status = clean_text(params.get("status"), single_line=True).lower()
    if status not in CLIENT_STATUSES:
        raise ValidationFailed(
            _l("status is required: OPEN or CLOSED (or one of FixMyStreet's extended statuses)."),
            code="invalid_status",
        )
    description = clean_text(params.get("description"))
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(
            _l("The description is too long (at most %(n)d characters).", n=MAX_DESCRIPTION),
            code="description_too_long",
        )
    getlist = params.getlist if hasattr(params, "getlist") else lambda k: [params.get(k)]
    media = [m for m in (_media_url(v or "") for v in getlist("media_url")) if m][:MAX_MEDIA_URLS]
    if not description and not media and not photos:
        raise ValidationFailed(_l("description is required."), code="description_missing")
    client_time = params.get("updated_datetime")
    when = parse_w3(client_time, "updated_datetime") if clean_text(client_time) else None
    client_id = _text(params, "update_id", 100)
    if client_id:
        earlier = _posted(report, user, client_id)
        if earlier is not None:
            return earlier, False
    processed = process_uploads(photos, max_photos)  # refused before anything is stored
    details = {
        "update_id": client_id or None,
        "status": status,
        "updated_datetime": iso(when),
        "media_url": media,
        "contact": {k: _text(params, k) for k in UPDATE_CONTACT if clean_text(params.get(k))},
    }
    event = ReportEvent(
        report_id=report.id,
        actor_id=user.id,
        kind=UPDATE_KIND,
        note=description,
        internal=False,
        from_status=report.status,
        to_status=report.status,
        details=details,
    )
    db.session.add(event)
    db.session.flush()
    if processed:
        attach_photos(report, event, processed, kind="followup")  # never public, like a rider's
    return event, True


def _posted(report: Report, user: User, client_id: str) -> ReportEvent | None:
    """The update this account already posted to this report under the client's update_id."""
    events = db.session.scalars(
        select(ReportEvent).where(
            and_(ReportEvent.report_id == report.id, ReportEvent.actor_id == user.id, ReportEvent.kind == UPDATE_KIND)
        )
    )
    return next((e for e in events if (e.details or {}).get("update_id") == client_id), None)
