"""Moving reports through the workflow, comments, priority and bulk actions. The caller commits."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Optional

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, update

from app.errors import DomainError, InvalidTransition, NotFound, PermissionDenied, StaleReport, ValidationFailed
from app.auth.access import shared_with_co_reporter
from app.auth.services import require_approved
from app.extensions import db
from app.inputs import record_id, whole_number
from app.models import CoReporter, Department, Photo, Report, ReportEvent, User, utcnow
from app.triage import workflow
from app.triage.duplicates import require_joinable
from app.triage.workflow import HANDLER_MOVES, LABELS, Outcome, Status

PRIORITIES = ("urgent", "high", "normal", "low")
PRIORITY_LABELS = {"urgent": _l("Urgent"), "high": _l("High"), "normal": _l("Normal"), "low": _l("Low")}
MAX_NOTE = 2000
STAFF_ROLES = ("coordinator", "admin")


# -- who may do what -------------------------------------------------------------------------

def handles(user: User, report: Report) -> bool:
    """Whether a handler is responsible for the report (assigned to them or their department)."""
    return user.role == "handler" and (
        report.assignee_id == user.id
        or (user.department_id is not None and report.department_id == user.department_id))


def may_move(user: User, report: Report, target: str) -> bool:
    """Whether this user may make this legal move on this report (role and responsibility)."""
    if not workflow.is_legal(report.status, target):
        return False
    if user.role in STAFF_ROLES:
        return True
    return (Status(report.status), Status(target)) in HANDLER_MOVES and handles(user, report)


def legal_moves_for(user: User, report: Report) -> list[Status]:
    """The moves the user may make on the report now (the buttons on its page)."""
    return [to for to in workflow.allowed_moves(report.status) if may_move(user, report, to)]


def _check_actor(user: User, report: Report) -> None:
    """Riders never move reports; handlers only those dispatched to them or their department."""
    if user.role in STAFF_ROLES:
        return
    if user.role != "handler":
        raise PermissionDenied(_l("Riders cannot change the status of a report."))
    if not handles(user, report):
        raise PermissionDenied(_l("This report is not dispatched to you or your department."))


def _check_handler_move(user: User, report: Report, target: Status) -> None:
    if user.role == "handler" and (Status(report.status), target) not in HANDLER_MOVES:
        raise PermissionDenied(_l("Handlers may only start and resolve reports dispatched to them."))


# -- optimistic locking ------------------------------------------------------------------------

def describe_event(event: ReportEvent | None) -> str:
    """One sentence saying who changed a report, when and how (for the 409 page)."""
    if event is None:
        return _("Someone else changed this report.")
    from app.i18n import local_zone
    who = event.actor.display_name if event.actor else _("the system")
    when = event.created_at.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")
    if event.kind == "transition":
        how = _("moved it from %(a)s to %(b)s", a=LABELS[Status(event.from_status)],
                b=LABELS[Status(event.to_status)])
    elif event.kind == "edit" and "priority" in (event.details or {}):
        how = _("changed its priority to %(p)s",
                p=PRIORITY_LABELS.get(event.details["priority"], event.details["priority"]))
    else:
        how = _("changed it")
    text = _("%(who)s %(how)s at %(when)s.", who=who, how=how, when=when)
    if event.note:
        text += " " + _("Note: %(note)s", note=event.note)
    return text


def latest_change(report_id: int) -> ReportEvent | None:
    """The last event that bumped the report's version (a move or an edit)."""
    return db.session.scalar(
        select(ReportEvent).where(ReportEvent.report_id == report_id,
                                  ReportEvent.kind.in_(("transition", "edit")))
        .order_by(ReportEvent.created_at.desc(), ReportEvent.id.desc()).limit(1))


def _stale(report_id: int, current_version: int | None = None) -> StaleReport:
    event = latest_change(report_id)
    message = _("This report was changed while you were looking at it: %(what)s Reload to see it.",
                what=describe_event(event))
    return StaleReport(message, changed_by=event.actor.display_name if event and event.actor else None,
                       current_version=current_version)


def _check_version(report: Report, version) -> int:
    """The sent version as a number; StaleReport when the report has moved on since."""
    version = whole_number(version)  # not int(): that reads 1.5 as 1, true as 1 and dies on Infinity
    if version is None:
        raise ValidationFailed(_l("The report's version is missing; reload the page."), code="version_required")
    if version != report.version:
        raise _stale(report.id, report.version)
    return version


def _claim(report: Report, version, now: datetime) -> None:
    """Bump the version with UPDATE ... WHERE version = :v, so of two concurrent edits only one wins."""
    version = _check_version(report, version)
    result = db.session.execute(
        update(Report).where(Report.id == report.id, Report.version == version)
        .values(version=version + 1, updated_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.expire(report)
        raise _stale(report.id)
    from sqlalchemy.orm.attributes import set_committed_value
    set_committed_value(report, "version", version + 1)
    set_committed_value(report, "updated_at", now)


# -- the move ---------------------------------------------------------------------------------

def _clean_note(note: Optional[str]) -> str:
    if note is not None and not isinstance(note, str):
        raise ValidationFailed(_l("The note must be text."), code="invalid_note")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed(_l("The note is too long (at most %(n)d characters).", n=MAX_NOTE),
                               code="note_too_long")
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
        raise ValidationFailed(_l("The target is itself a duplicate or rejected; choose the original report."),
                               code="duplicate_of_duplicate")
    return target


def _dispatch_to(report: Report, assignee_id, department_id) -> tuple[User | None, Department | None]:
    assignee = department = None
    if assignee_id not in (None, ""):
        number = record_id(assignee_id)
        assignee = db.session.get(User, number) if number else None
        if assignee is None or not assignee.active or assignee.role not in ("handler", "coordinator", "admin"):
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


def transition(report: Report, actor: User, to, *, version, note: Optional[str] = None,
               assignee_id=None, department_id=None, outcome: Optional[str] = None,
               duplicate_of=None, internal: bool = False, after_photo: Optional[bytes] = None,
               now: Optional[datetime] = None) -> ReportEvent:
    """Move a report to `to` as `actor`, if the table, the actor's role and the version allow it."""
    try:
        target = Status(to)
    except ValueError:
        raise InvalidTransition(_l("Unknown status."))
    _check_actor(actor, report)
    _check_version(report, version)  # a stale page first: its move was chosen from an old status
    _check_handler_move(actor, report, target)
    if not workflow.is_legal(report.status, target):
        raise InvalidTransition(_l("A report that is %(a)s cannot be moved to %(b)s.",
                                   a=LABELS[Status(report.status)], b=LABELS[target]),
                                current_status=report.status)
    source = Status(report.status)
    needs = workflow.requirements(source, target)
    note = _clean_note(note)
    if "note" in needs and not note:
        raise ValidationFailed(_l("A note is required for this step."), code="note_required")
    details: dict = {}
    if "outcome" in needs:
        try:
            details["outcome"] = Outcome(outcome).value
        except ValueError:
            raise ValidationFailed(_l("Choose an outcome: fixed, not our responsibility, or unable to fix."),
                                   code="outcome_required")
    target_report = assignee = department = None
    if "duplicate_of" in needs:
        target_report = _resolve_duplicate_target(report, duplicate_of)
        details["duplicate_of"] = target_report.id
        details["duplicate_of_reference"] = target_report.reference
    if "assignee_or_department" in needs:
        assignee, department = _dispatch_to(report, assignee_id, department_id)
        details["assignee"] = assignee.id if assignee else None
        details["assignee_name"] = assignee.display_name if assignee else None
        details["department"] = department.code if department else None
    processed = None
    if after_photo:
        if target != Status.RESOLVED:
            raise ValidationFailed(_l("An after photo goes with resolving a report."), code="photo_not_allowed")
        from app.reports.services import process_uploads
        processed = process_uploads([after_photo], 1)  # validated before anything changes

    now = now or utcnow()
    _claim(report, version, now)
    report.status = target.value
    if target == Status.ACCEPTED:
        report.accepted_at = now
        if report.first_accepted_at is None or now < report.first_accepted_at:
            report.first_accepted_at = now  # what the acceptance points are dated by
        if source in (Status.CLOSED, Status.REJECTED):  # reopened: a fresh deadline to resolve
            report.resolve_due_at = now + timedelta(hours=report.category.resolve_hours)
            report.outcome = report.closed_at = report.resolved_at = None
        if source == Status.ASSIGNED:  # recalled
            report.assignee_id = None
    elif target == Status.ASSIGNED:
        report.assignee_id = assignee.id if assignee else None
        report.department_id = department.id if department else None
    elif target == Status.RESOLVED:
        report.resolved_at = now
    elif target == Status.IN_PROGRESS and source == Status.RESOLVED:
        report.resolved_at = None
    elif target == Status.CLOSED:
        report.closed_at = now
        report.outcome = details["outcome"]
    elif target in (Status.REJECTED, Status.DUPLICATE):
        report.closed_at = now
    if target_report is not None:
        report.duplicate_of_id = target_report.id
        _follow(target_report, report)
    # The rider always sees that the status moved; an internal note goes beside it, hidden from them.
    internal = bool(internal) and bool(note)
    event = ReportEvent(report_id=report.id, actor_id=actor.id, created_at=now, kind="transition",
                        from_status=source.value, to_status=target.value, note="" if internal else note,
                        details=details)
    db.session.add(event)
    if internal:
        db.session.add(ReportEvent(report_id=report.id, actor_id=actor.id, created_at=now, kind="comment",
                                   from_status=target.value, to_status=target.value, note=note, internal=True))
    db.session.flush()
    if processed:
        _attach_photos(report, event, processed, kind="after")
    db.session.flush()
    return event


def _follow(target: Report, duplicate: Report) -> None:
    """The duplicate's rider (and its co-reporters) follow the target from now on."""
    followers = {duplicate.user_id} | set(db.session.scalars(
        select(CoReporter.user_id).where(CoReporter.report_id == duplicate.id)))
    followers.discard(target.user_id)
    existing = set(db.session.scalars(select(CoReporter.user_id).where(CoReporter.report_id == target.id)))
    for user_id in sorted(followers - existing):
        db.session.add(CoReporter(report_id=target.id, user_id=user_id, duplicate_id=duplicate.id))


def _attach_photos(report: Report, event: ReportEvent, processed, kind: str) -> list[Photo]:
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
    note = _clean_note(note)
    if not note:
        raise ValidationFailed(_l("Write a comment first."), code="note_required")
    if actor.role in STAFF_ROLES or handles(actor, report):
        pass
    elif actor.role == "rider" and follows(actor, report):
        internal = False
    else:
        raise PermissionDenied(_l("You may not comment on this report."))
    event = ReportEvent(report_id=report.id, actor_id=actor.id, kind="comment", note=note,
                        internal=bool(internal), from_status=report.status, to_status=report.status)
    db.session.add(event)
    db.session.flush()
    return event


def add_rider_photos(report: Report, rider: User, photos: list[bytes], note: str = "", *,
                     lat=None, lon=None, radius_m: float = 200, max_photos: int = 4) -> ReportEvent:
    """A rider's "still there" photo: on a report they follow, or on an open, recent one nearby they join
    (with a photo; they then see its progress, not the rider's description, photos or comments)."""
    from app.reports.geo import distance_m, valid_location
    from app.reports.services import process_uploads
    note = _clean_note(note)
    if not photos and not note:
        raise ValidationFailed(_l("Add a photo or a comment."), code="photo_required")
    if rider.role != "rider":
        raise PermissionDenied(_l("Only riders add follow-up photos here; staff comment on the board."))
    require_approved(rider)  # joining would show them the report: only riders their team has vetted
    joining = not follows(rider, report)
    if joining:
        require_joinable(report)
        if lat in (None, "") or lon in (None, ""):
            raise ValidationFailed(_l("We need your location to add your photo to a report nearby."),
                                   code="location_required")
        if not valid_location(lat, lon):  # geopy raises on NaN or a latitude of 100
            raise ValidationFailed(_l("The location is out of range."), code="invalid_location")
        if distance_m((float(lat), float(lon)), (report.lat, report.lon)) > radius_m:
            raise PermissionDenied(_l("You are too far from this report to add to it."))
        if not photos:  # a photo of the place, not only a position anyone can read from Open311
            raise ValidationFailed(_l("Add a photo of the problem to add it to this report."), code="photo_required")
    processed = process_uploads(photos, max_photos)
    event = ReportEvent(report_id=report.id, actor_id=rider.id, kind="photo" if photos else "comment",
                        note=note, from_status=report.status, to_status=report.status,
                        details={"photos": len(photos), "joined": joining})
    db.session.add(event)
    db.session.flush()
    if joining:
        db.session.add(CoReporter(report_id=report.id, user_id=rider.id))
    if processed:
        _attach_photos(report, event, processed, kind="followup")
    db.session.flush()
    return event


def set_priority(report: Report, actor: User, priority: str, *, version) -> ReportEvent:
    """Change a report's priority (staff only); an internal timeline entry records it."""
    if actor.role not in STAFF_ROLES:
        raise PermissionDenied(_l("Only coordinators set priorities."))
    if priority not in PRIORITIES:
        raise ValidationFailed(_l("Choose a priority: urgent, high, normal or low."), code="priority_invalid")
    now = utcnow()
    _claim(report, version, now)
    before = report.priority
    report.priority = priority
    event = ReportEvent(report_id=report.id, actor_id=actor.id, created_at=now, kind="edit", internal=True,
                        from_status=report.status, to_status=report.status,
                        details={"priority": priority, "previous_priority": before})
    db.session.add(event)
    db.session.flush()
    return event


# -- what a rider has not seen yet -----------------------------------------------------------------

def unread_counts(user: User, report_ids: Iterable[int]) -> dict[int, int]:
    """For each report, the events the user may see that others wrote after the user last looked.

    Before a first look the count starts when the user began to follow the report (their own
    report: its filing; a co-reported one: when they joined it). Internal notes never count, nor for a
    co-reporter what is not shared with them.
    """
    from app.triage.models import ReportSeen
    ids = sorted({int(i) for i in report_ids})
    counts = dict.fromkeys(ids, 0)
    if not ids:
        return counts
    since = func.coalesce(ReportSeen.seen_at, CoReporter.created_at)
    q = (select(ReportEvent.report_id, func.count())
         .outerjoin(ReportSeen, and_(ReportSeen.report_id == ReportEvent.report_id, ReportSeen.user_id == user.id))
         .outerjoin(CoReporter, and_(CoReporter.report_id == ReportEvent.report_id, CoReporter.user_id == user.id))
         .where(ReportEvent.report_id.in_(ids), ReportEvent.internal.is_(False),
                ReportEvent.kind != "submitted",
                or_(ReportEvent.actor_id.is_(None), ReportEvent.actor_id != user.id),
                or_(since.is_(None), ReportEvent.created_at > since),
                or_(CoReporter.user_id.is_(None), shared_with_co_reporter(user.id)))
         .group_by(ReportEvent.report_id))
    for report_id, n in db.session.execute(q):
        counts[report_id] = n
    return counts


def mark_seen(user: User, report: Report, now: Optional[datetime] = None) -> None:
    """Remember that the user has just looked at the report (clears its unread badge)."""
    from sqlalchemy.exc import IntegrityError

    from app.triage.models import ReportSeen
    now = now or utcnow()
    seen = db.session.get(ReportSeen, (user.id, report.id))
    if seen is None:
        try:
            with db.session.begin_nested():  # two tabs opening at once: the second one updates
                db.session.add(ReportSeen(user_id=user.id, report_id=report.id, seen_at=now))
            return
        except IntegrityError:
            seen = db.session.get(ReportSeen, (user.id, report.id))
    seen.seen_at = max(seen.seen_at, now)
    db.session.flush()


# -- bulk ----------------------------------------------------------------------------------------

BULK_ACTIONS = ("accept", "reject", "assign", "priority")


def bulk(actor: User, ids: Iterable, action: str, *, note: str = "", assignee_id=None,
         department_id=None, priority: Optional[str] = None,
         versions: Optional[dict[int, Optional[int]]] = None) -> list[dict]:
    """Apply one action to many reports; each row succeeds or fails on its own (savepoints)."""
    if actor.role not in STAFF_ROLES:
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
                elif action == "reject":
                    transition(report, actor, Status.REJECTED, version=version, note=note)
                elif action == "assign":
                    transition(report, actor, Status.ASSIGNED, version=version, note=note,
                               assignee_id=assignee_id, department_id=department_id)
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
    handlers = list(db.session.scalars(select(User).where(User.role == "handler", User.active.is_(True))
                                       .order_by(User.department_id, User.display_name)))
    return departments, handlers


def get_for_update(report_id: int) -> Report:
    """A report by id, or NotFound."""
    report = db.session.get(Report, report_id)
    if report is None:
        raise NotFound(_l("No such report."))
    return report


# -- demo ---------------------------------------------------------------------------------------

DEMO_NOTES = {
    "accepted": "已受理，转相关部门处理",
    "assigned": "请尽快到现场处置",
    "in_progress": "已到现场，正在处理",
    "resolved": "已处理完毕，现场已恢复",
    "closed": "回访核查，问题已解决",
    "rejected": "照片无法看清位置，请重新拍摄后再提交",
}


def demo_walk(report: Report, path: list[str], users: dict) -> None:
    """Move a demo report along `path` with the real transition service, at believable times."""
    import random
    rnd = random.Random(report.id)
    coordinators = [u for u in users.values() if u.role == "coordinator"]
    steps = [timedelta(hours=rnd.uniform(0.3, report.category.accept_hours if to == "accepted" else 20))
             for to in path]
    room = (utcnow() - report.created_at) * 0.9  # a report filed an hour ago moved within that hour
    total = sum(steps, timedelta())
    if total > room:
        steps = [s * (room / total) for s in steps]
    t = report.created_at
    for to, step in zip(path, steps):
        t = t + step
        actor = rnd.choice(coordinators)
        kwargs = {}
        if to == "assigned":
            dept = report.category.default_department_id or db.session.scalar(
                select(Department.id).where(Department.code == "urban_management"))
            handler = next((u for u in users.values() if u.role == "handler" and u.department_id == dept), None)
            kwargs = {"department_id": dept, "assignee_id": handler.id if handler else None}
        elif to in ("in_progress", "resolved") and report.status in ("assigned", "in_progress"):
            handler = db.session.get(User, report.assignee_id) if report.assignee_id else None
            actor = handler or actor
        elif to == "closed":
            kwargs = {"outcome": "fixed"}
        elif to == "duplicate":
            kwargs = {"duplicate_of": _demo_original(report)}
            if kwargs["duplicate_of"] is None:
                return
        transition(report, actor, to, version=report.version, note=DEMO_NOTES.get(to, ""), now=t, **kwargs)
    if path:
        report.updated_at = t
        db.session.flush()


def _demo_original(report: Report) -> Optional[Report]:
    """An open report of the same category; the demo duplicate is placed ~25 m from it."""
    from app.reports.geo import cell_of
    original = db.session.scalar(
        select(Report).where(Report.category_id == report.category_id, Report.id != report.id,
                             Report.status.in_([s.value for s in workflow.OPEN_STATUSES]))
        .order_by(Report.created_at.desc()).limit(1))
    if original is not None:
        report.lat, report.lon = original.lat + 0.0002, original.lon + 0.0001
        report.cell = cell_of(report.lat, report.lon)
    return original


# -- response templates ---------------------------------------------------------------------------

RESPONSE_TEMPLATES = [
    ("accepted", "您的反映已受理，我们会尽快派单处理。", "Thank you, your report is accepted and will be dispatched soon."),
    ("rejected", "照片无法看清问题或位置，请重新拍摄后再提交。", "The photo does not show the problem or the place clearly; please take another one."),
    ("rejected", "该问题不属于城市管理范围，请拨打12345热线咨询。", "This is outside what we handle; please call the 12345 hotline."),
    ("assigned", "请于时限内到现场核实处置，并上传处置后照片。", "Please check on site within the deadline and upload an after photo."),
    ("resolved", "已到现场处置完毕，现场已恢复正常。", "Handled on site; the place is back to normal."),
    ("in_progress", "回访核查发现问题仍然存在，请继续处理。", "The follow-up check found the problem still there; please continue."),
    ("closed", "经核查，问题已解决。感谢您的反映！", "Checked: the problem is solved. Thank you for reporting it!"),
    ("accepted", "问题再次出现，重新受理。", "The problem came back; the report is reopened."),
]


def seed_response_templates() -> None:
    """Add the default response templates when there are none (admins edit them afterwards)."""
    from app.triage.models import ResponseTemplate
    if db.session.scalar(select(ResponseTemplate.id).limit(1)) is not None:
        return
    for order, (status, zh, en) in enumerate(RESPONSE_TEMPLATES):
        db.session.add(ResponseTemplate(target_status=status, text_zh=zh, text_en=en, sort_order=order))
    db.session.flush()
