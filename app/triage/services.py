"""Moving reports through the workflow, comments, priority and bulk actions. The caller commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app import hooks
from app.auth.access import handles
from app.auth.services import require_approved
from app.errors import DomainError, InvalidTransition, PermissionDenied, StaleReport, ValidationFailed
from app.extensions import db
from app.inputs import record_id, whole_number
from app.models import CoReporter, Department, Photo, Report, ReportEvent, Role, User, utcnow
from app.reports.photos import Upload
from app.triage import workflow
from app.triage.duplicates import require_joinable
from app.triage.workflow import HANDLER_MOVES, LABELS, PRIORITIES, PRIORITY_LABELS, Outcome, Status

MAX_NOTE = 2000


# -- who may do what -------------------------------------------------------------------------


def may_move(user: User, report: Report, target: str) -> bool:
    """Whether this user may make this legal move on this report (role and responsibility)."""
    if not workflow.is_legal(report.status, target):
        return False
    if user.is_staff:
        return True
    return (Status(report.status), Status(target)) in HANDLER_MOVES and handles(user, report)


def legal_moves_for(user: User, report: Report) -> list[Status]:
    """The moves the user may make on the report now (the buttons on its page)."""
    return [to for to in workflow.allowed_moves(report.status) if may_move(user, report, to)]


def _check_actor(user: User, report: Report) -> None:
    """Riders never move reports; handlers only those dispatched to them or their department."""
    if user.is_staff:
        return
    if not user.is_handler:
        raise PermissionDenied(_l("Riders cannot change the status of a report."))
    if not handles(user, report):
        raise PermissionDenied(_l("This report is not dispatched to you or your department."))


def _check_handler_move(user: User, report: Report, target: Status) -> None:
    if user.is_handler and (Status(report.status), target) not in HANDLER_MOVES:
        raise PermissionDenied(_l("Handlers may only start and resolve reports dispatched to them."))


# -- optimistic locking ------------------------------------------------------------------------


def describe_event(event: ReportEvent | None) -> str:
    """One sentence saying who changed a report, when and how (for the 409 page)."""
    if event is None:
        return _("Someone else changed this report.")
    from app.i18n import local_datetime

    who = event.actor.display_name if event.actor else _("the system")
    when = local_datetime(event.created_at)
    if event.kind == "transition":
        how = _("moved it from %(a)s to %(b)s", a=LABELS[Status(event.from_status)], b=LABELS[Status(event.to_status)])
    elif event.kind == "edit" and "priority" in (event.details or {}):
        how = _(
            "changed its priority to %(p)s", p=PRIORITY_LABELS.get(event.details["priority"], event.details["priority"])
        )
    elif event.kind == "edit" and "category" in (event.details or {}):
        how = _("changed its category to %(c)s", c=event.details["category"])
    elif event.kind == "edit" and "lat" in (event.details or {}):
        how = _("moved its location by %(m)s m", m=event.details.get("moved_m", "?"))
    else:
        how = _("changed it")
    text = _("%(who)s %(how)s at %(when)s.", who=who, how=how, when=when)
    if event.note:
        text += " " + _("Note: %(note)s", note=event.note)
    return text


def latest_change(report_id: int) -> ReportEvent | None:
    """The last event that bumped the report's version (a move or an edit)."""
    return db.session.scalar(
        select(ReportEvent)
        .where(ReportEvent.report_id == report_id, ReportEvent.kind.in_(("transition", "edit")))
        .order_by(ReportEvent.created_at.desc(), ReportEvent.id.desc())
        .limit(1)
    )


def _stale(report_id: int, current_version: int | None = None) -> StaleReport:
    event = latest_change(report_id)
    message = _(
        "This report was changed while you were looking at it: %(what)s Reload to see it.", what=describe_event(event)
    )
    return StaleReport(
        message, changed_by=event.actor.display_name if event and event.actor else None, current_version=current_version
    )


def _check_version(report: Report, version) -> int:
    """The sent version as a number; StaleReport when the report has moved on since."""
    version = whole_number(version)  # not int(): that reads 1.5 as 1, true as 1 and dies on Infinity
    if version is None:
        raise ValidationFailed(_l("The report's version is missing; reload the page."), code="version_required")
    if version != report.version:
        raise _stale(report.id, report.version)
    return version


def claim_version(report: Report, version, now: datetime) -> None:
    """Bump the version with UPDATE ... WHERE version = :v, so of two concurrent edits only one wins."""
    version = _check_version(report, version)
    result = db.session.execute(
        update(Report)
        .where(Report.id == report.id, Report.version == version)
        .values(version=version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.expire(report)
        raise _stale(report.id)
    from sqlalchemy.orm.attributes import set_committed_value

    set_committed_value(report, "version", version + 1)
    set_committed_value(report, "updated_at", now)


# -- the move ---------------------------------------------------------------------------------


def clean_note(note: str | None) -> str:
    if note is not None and not isinstance(note, str):
        raise ValidationFailed(_l("The note must be text."), code="invalid_note")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed(_l("The note is too long (at most %(n)d characters).", n=MAX_NOTE), code="note_too_long")
    return note


def _resolve_duplicate_target(report: Report, duplicate_of) -> Report:
    if duplicate_of in (None, ""):
        raise ValidationFailed(_l("Choose the report this one duplicates."), code="duplicate_required")
    if isinstance(duplicate_of, Report):
        target = duplicate_of
    else:
        text = str(duplicate_of).strip()
        number = record_id(duplicate_of)
        target = db.session.get(Report, number) if number else None
        if target is None:
            target = db.session.scalar(select(Report).where(Report.reference == text.upper()))
    if target is None:
        raise ValidationFailed(_l("The report it duplicates does not exist."), code="duplicate_unknown")
    if target.id == report.id:
        raise ValidationFailed(_l("A report cannot duplicate itself."), code="duplicate_self")
    if target.status in (Status.DUPLICATE, Status.REJECTED):
        raise ValidationFailed(
            _l("The target is itself a duplicate or rejected; choose the original report."),
            code="duplicate_of_duplicate",
        )
    return target


def _dispatch_to(report: Report, assignee_id, department_id) -> tuple[User | None, Department | None]:
    assignee = department = None
    if assignee_id not in (None, ""):
        number = record_id(assignee_id)
        assignee = db.session.get(User, number) if number else None
        if assignee is None or not assignee.active or not (assignee.is_handler or assignee.is_staff):
            raise ValidationFailed(_l("Dispatch to an active handler."), code="assignee_unknown")
    if department_id not in (None, ""):
        text = str(department_id).strip()
        number = record_id(department_id)
        department = db.session.get(Department, number) if number else None
        if department is None:
            department = db.session.scalar(select(Department).where(Department.code == text))
        if department is None:
            raise ValidationFailed(_l("No such department."), code="department_unknown")
    if assignee is None and department is None:
        raise ValidationFailed(_l("Choose a handler or a department to dispatch to."), code="assignee_required")
    if department is None and assignee is not None and assignee.department_id:
        department = db.session.get(Department, assignee.department_id)
    return assignee, department


@dataclass
class Move:
    """A checked move, ready to apply: where from and to, its note and what it needs."""

    source: Status
    target: Status
    note: str = ""
    reply: str = ""  # the words for the rider (a note is internal unless said otherwise)
    details: dict = field(default_factory=dict)
    target_report: Report | None = None
    assignee: User | None = None
    department: Department | None = None
    processed: list | None = None


def check_move(
    report: Report,
    actor: User,
    to,
    *,
    note: str | None = None,
    reply: str | None = None,
    assignee_id=None,
    department_id=None,
    outcome: str | None = None,
    duplicate_of=None,
    after_photo: Upload | None = None,
) -> Move:
    """The check step: the table, the actor's role and what the move needs; nothing is changed."""
    try:
        target = Status(to)
    except ValueError:
        raise InvalidTransition(_l("Unknown status.")) from None
    _check_actor(actor, report)
    _check_handler_move(actor, report, target)
    if not workflow.is_legal(report.status, target):
        raise InvalidTransition(
            _l("A report that is %(a)s cannot be moved to %(b)s.", a=LABELS[Status(report.status)], b=LABELS[target]),
            current_status=report.status,
        )
    move = Move(source=Status(report.status), target=target, note=clean_note(note), reply=clean_note(reply))
    needs = workflow.requirements(move.source, target)
    if "note" in needs and not (move.note or move.reply):
        raise ValidationFailed(_l("A note is required for this step."), code="note_required")
    if "outcome" in needs:
        try:
            move.details["outcome"] = Outcome(outcome).value
        except ValueError:
            raise ValidationFailed(
                _l("Choose an outcome: fixed, not our responsibility, or unable to fix."), code="outcome_required"
            ) from None
    if "duplicate_of" in needs:
        move.target_report = _resolve_duplicate_target(report, duplicate_of)
        move.details["duplicate_of"] = move.target_report.id
        move.details["duplicate_of_reference"] = move.target_report.reference
    if "assignee_or_department" in needs:
        move.assignee, move.department = _dispatch_to(report, assignee_id, department_id)
        move.details["assignee"] = move.assignee.id if move.assignee else None
        move.details["assignee_name"] = move.assignee.display_name if move.assignee else None
        move.details["department"] = move.department.code if move.department else None
    if after_photo:
        if target != Status.RESOLVED:
            raise ValidationFailed(_l("An after photo goes with resolving a report."), code="photo_not_allowed")
        from app.reports.services import process_uploads

        move.processed = process_uploads([after_photo], 1)  # validated before anything changes
    return move


def apply_move(
    report: Report, actor: User | None, move: Move, *, version, internal: bool = True, now: datetime | None = None
) -> ReportEvent:
    """The apply step: claim the version, change the report, write the event (actor None: the system).

    The move's note is internal unless `internal` is False; its reply is what the rider reads."""
    now = now or utcnow()
    claim_version(report, version, now)
    source, target, details = move.source, move.target, move.details
    report.status = target.value
    if target == Status.ACCEPTED:
        report.accepted_at = now
        if report.first_accepted_at is None or now < report.first_accepted_at:
            report.first_accepted_at = now  # what the acceptance points are dated by
        if workflow.is_reopen(source, target):  # a fresh deadline to resolve
            report.resolve_due_at = now + timedelta(hours=report.category.resolve_hours)
            report.outcome = report.closed_at = report.resolved_at = None
        if source == Status.ASSIGNED:  # recalled
            details["previous_assignee"] = report.assignee_id
            report.assignee_id = None
    elif target == Status.ASSIGNED:
        report.assignee_id = move.assignee.id if move.assignee else None
        report.department_id = move.department.id if move.department else None
    elif target == Status.RESOLVED:
        report.resolved_at = now
    elif target == Status.IN_PROGRESS and source == Status.RESOLVED:
        report.resolved_at = None
    elif target == Status.CLOSED:
        report.closed_at = now
        report.outcome = details["outcome"]
    elif target in (Status.REJECTED, Status.DUPLICATE):
        report.closed_at = now
    if move.target_report is not None:
        report.duplicate_of_id = move.target_report.id
        _follow(move.target_report, report, now)
    # The rider always sees that the status moved, with the reply; an internal note goes beside it, hidden.
    internal = bool(internal) and bool(move.note)
    note = "\n\n".join(t for t in (move.reply, "" if internal else move.note) if t)
    actor_id = actor.id if actor else None
    event = ReportEvent(
        report_id=report.id,
        actor_id=actor_id,
        created_at=now,
        kind="transition",
        from_status=source.value,
        to_status=target.value,
        note=note,
        details=details,
    )
    db.session.add(event)
    if internal:
        db.session.add(
            ReportEvent(
                report_id=report.id,
                actor_id=actor_id,
                created_at=now,
                kind="comment",
                from_status=target.value,
                to_status=target.value,
                note=move.note,
                internal=True,
            )
        )
    db.session.flush()
    if move.processed:
        attach_photos(report, event, move.processed, kind="after")
    db.session.flush()
    hooks.emit(hooks.MOVED, report, event)
    return event


def transition(
    report: Report,
    actor: User,
    to,
    *,
    version,
    note: str | None = None,
    reply: str | None = None,
    assignee_id=None,
    department_id=None,
    outcome: str | None = None,
    duplicate_of=None,
    internal: bool = True,
    after_photo: Upload | None = None,
    now: datetime | None = None,
) -> ReportEvent:
    """Move a report to `to` as `actor`, if the table, the actor's role and the version allow it."""
    _check_actor(actor, report)
    _check_version(report, version)  # a stale page first: its move was chosen from an old status
    move = check_move(
        report,
        actor,
        to,
        note=note,
        reply=reply,
        assignee_id=assignee_id,
        department_id=department_id,
        outcome=outcome,
        duplicate_of=duplicate_of,
        after_photo=after_photo,
    )
    return apply_move(report, actor, move, version=version, internal=internal, now=now)


def reopen_by_rule(report: Report, note: str, details: dict, now: datetime | None = None) -> ReportEvent:
    """A move no person makes: back to accepted when a rider says it is not fixed (workflow.SYSTEM_MOVES)."""
    source = Status(report.status)
    if (source, Status.ACCEPTED) not in workflow.SYSTEM_MOVES:
        raise InvalidTransition(
            _l("A report that is %(a)s cannot be moved to %(b)s.", a=LABELS[source], b=LABELS[Status.ACCEPTED]),
            current_status=report.status,
        )
    move = Move(source=source, target=Status.ACCEPTED, note=clean_note(note), details=dict(details))
    return apply_move(report, None, move, version=report.version, internal=False, now=now)


def _follow(target: Report, duplicate: Report, now: datetime) -> None:
    """The duplicate's rider (and its co-reporters) follow the target from the merge on."""
    followers = {duplicate.user_id} | set(
        db.session.scalars(select(CoReporter.user_id).where(CoReporter.report_id == duplicate.id))
    )
    followers.discard(target.user_id)
    existing = set(db.session.scalars(select(CoReporter.user_id).where(CoReporter.report_id == target.id)))
    for user_id in sorted(followers - existing):
        db.session.add(CoReporter(report_id=target.id, user_id=user_id, duplicate_id=duplicate.id, created_at=now))


def attach_photos(report: Report, event: ReportEvent, processed, kind: str) -> list[Photo]:
    from app.reports.services import store_photos
    from app.storage import photo_store

    rows = store_photos(photo_store(), processed)
    for p in rows:
        p.report_id, p.event_id, p.kind = report.id, event.id, kind
        db.session.add(p)
    db.session.flush()
    return rows


# -- comments, photos, priority ------------------------------------------------------------------


def follows(user: User, report: Report) -> bool:
    """The report's rider or a co-reporter."""
    return report.user_id == user.id or db.session.get(CoReporter, (report.id, user.id)) is not None


def add_comment(report: Report, actor: User, note: str, *, internal: bool = False) -> ReportEvent:
    """A comment on the timeline: staff and responsible handlers, or the report's own riders."""
    note = clean_note(note)
    if not note:
        raise ValidationFailed(_l("Write a comment first."), code="note_required")
    if actor.is_staff or handles(actor, report):
        pass
    elif actor.is_rider and follows(actor, report):
        internal = False
    else:
        raise PermissionDenied(_l("You may not comment on this report."))
    event = ReportEvent(
        report_id=report.id,
        actor_id=actor.id,
        kind="comment",
        note=note,
        internal=bool(internal),
        from_status=report.status,
        to_status=report.status,
    )
    db.session.add(event)
    db.session.flush()
    return event


def add_rider_photos(
    report: Report,
    rider: User,
    photos: Sequence[Upload],
    note: str = "",
    *,
    lat=None,
    lon=None,
    radius_m: float = 200,
    max_photos: int = 4,
) -> ReportEvent:
    """A rider's "still there" photo: on a report they follow, or on an open, recent one nearby they join
    (with a photo; they then see its progress, not the rider's description, photos or comments)."""
    from app.reports.geo import distance_m, valid_location
    from app.reports.services import process_uploads

    note = clean_note(note)
    if not photos and not note:
        raise ValidationFailed(_l("Add a photo or a comment."), code="photo_required")
    if not rider.is_rider:
        raise PermissionDenied(_l("Only riders add follow-up photos here; staff comment on the board."))
    require_approved(rider)  # joining would show them the report: only riders their team has vetted
    joining = not follows(rider, report)
    if joining:
        require_joinable(report)
        if lat in (None, "") or lon in (None, ""):
            raise ValidationFailed(
                _l("We need your location to add your photo to a report nearby."), code="location_required"
            )
        if not valid_location(lat, lon):  # geopy raises on NaN or a latitude of 100
            raise ValidationFailed(_l("The location is out of range."), code="invalid_location")
        if not report.has_location or distance_m((float(lat), float(lon)), (report.lat, report.lon)) > radius_m:
            raise PermissionDenied(_l("You are too far from this report to add to it."))
        if not photos:  # a photo of the place, not only a position anyone can read from Open311
            raise ValidationFailed(_l("Add a photo of the problem to add it to this report."), code="photo_required")
    processed = process_uploads(photos, max_photos)
    event = ReportEvent(
        report_id=report.id,
        actor_id=rider.id,
        kind="photo" if photos else "comment",
        note=note,
        from_status=report.status,
        to_status=report.status,
        details={"photos": len(photos), "joined": joining},
    )
    db.session.add(event)
    db.session.flush()
    if joining:
        db.session.add(CoReporter(report_id=report.id, user_id=rider.id))
    if processed:
        attach_photos(report, event, processed, kind="followup")
    db.session.flush()
    return event


def set_priority(report: Report, actor: User, priority: str, *, version) -> ReportEvent:
    """Change a report's priority (staff only); an internal timeline entry records it."""
    if not actor.is_staff:
        raise PermissionDenied(_l("Only coordinators set priorities."))
    if priority not in PRIORITIES:
        raise ValidationFailed(_l("Choose a priority: urgent, high, normal or low."), code="priority_invalid")
    now = utcnow()
    claim_version(report, version, now)
    before = report.priority
    report.priority = priority
    event = ReportEvent(
        report_id=report.id,
        actor_id=actor.id,
        created_at=now,
        kind="edit",
        internal=True,
        from_status=report.status,
        to_status=report.status,
        details={"priority": priority, "previous_priority": before},
    )
    db.session.add(event)
    db.session.flush()
    return event


def set_location(report: Report, actor: User, lat, lon, *, version) -> ReportEvent:
    """A coordinator sets (or moves) a report's pin, e.g. one filed as "location needed" from an address no
    geocoder could place; the address text stays. An internal timeline entry records it."""
    from app.grids.index import grid_for_point
    from app.reports.geo import cell_of, valid_location

    if not actor.is_staff:
        raise PermissionDenied(_l("Only coordinators set a report's location."))
    try:
        lat_f, lon_f = float(str(lat).strip()), float(str(lon).strip())
    except ValueError:
        raise ValidationFailed(_l("Latitude and longitude must be numbers."), code="invalid_location") from None
    if not valid_location(lat_f, lon_f):
        raise ValidationFailed(_l("The location is out of range."), code="invalid_location")
    now = utcnow()
    claim_version(report, version, now)
    before = [report.lat, report.lon] if report.has_location else None
    report.lat, report.lon, report.cell = lat_f, lon_f, cell_of(lat_f, lon_f)
    report.location_source, report.accuracy = "staff", None
    report.grid_id = grid_for_point(lat_f, lon_f)
    from app.reports.services import default_department_id, describe_place

    report.place = describe_place(lat_f, lon_f, report.grid_id)  # named again where it now is
    if report.status == Status.SUBMITTED.value:  # not dispatched yet: the territory's department (属地)
        report.department_id = default_department_id(report.category, report.grid_id)
    event = ReportEvent(
        report_id=report.id,
        actor_id=actor.id,
        created_at=now,
        kind="edit",
        internal=True,
        from_status=report.status,
        to_status=report.status,
        details={"location": [lat_f, lon_f], "previous_location": before},
    )
    db.session.add(event)
    db.session.flush()
    return event


# -- bulk ----------------------------------------------------------------------------------------

BULK_ACTIONS = ("accept", "reject", "assign", "priority")


def bulk(
    actor: User,
    ids: Iterable,
    action: str,
    *,
    note: str = "",
    assignee_id=None,
    department_id=None,
    priority: str | None = None,
    versions: dict[int, int | None] | None = None,
) -> list[dict]:
    """Apply one action to many reports; each row succeeds or fails on its own (savepoints)."""
    if not actor.is_staff:
        raise PermissionDenied(_l("Only coordinators use bulk actions."))
    if action not in BULK_ACTIONS:
        raise ValidationFailed(_l("Unknown bulk action."), code="action_invalid")
    wanted = {record_id(i) for i in ids}
    if None in wanted:
        raise ValidationFailed(_l("Select reports by their numbers."), code="ids_invalid")
    wanted = sorted(wanted)
    if not wanted:
        raise ValidationFailed(_l("Select at least one report."), code="ids_required")
    if len(wanted) > 200:
        raise ValidationFailed(_l("At most 200 reports at once."), code="too_many")
    versions = versions or {}
    results = []
    for rid in wanted:
        report = db.session.get(Report, rid)
        row = {"id": rid, "reference": report.reference if report else None, "ok": False}
        if report is None:
            row.update(code="not_found", message=_("No such report."))
            results.append(row)
            continue
        version = versions.get(rid, report.version)
        try:
            with db.session.begin_nested():
                if action == "accept":
                    transition(report, actor, Status.ACCEPTED, version=version, note=note)
                elif action == "reject":  # the reason is for the rider
                    transition(report, actor, Status.REJECTED, version=version, reply=note)
                elif action == "assign":
                    transition(
                        report,
                        actor,
                        Status.ASSIGNED,
                        version=version,
                        note=note,
                        assignee_id=assignee_id,
                        department_id=department_id,
                    )
                else:
                    set_priority(report, actor, priority or "", version=version)
            row.update(ok=True, status=report.status, version=report.version)
        except DomainError as err:
            db.session.expire(report)
            row.update(code=err.code, message=str(err.message))
        results.append(row)
    return results


# -- pickers for the report page ----------------------------------------------------------------


def dispatch_choices() -> tuple[list[Department], list[User]]:
    """Departments and active handlers to dispatch to."""
    departments = list(db.session.scalars(select(Department).order_by(Department.id)))
    handlers = list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.HANDLER, User.active.is_(True))
            .order_by(User.department_id, User.display_name)
        )
    )
    return departments, handlers
