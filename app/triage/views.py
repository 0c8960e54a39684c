"""The triage board, a report's page for staff and handlers, and a handler's tasks."""

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.auth.access import require_view, safe_next, staff_or_handler_required, staff_required
from app.auth.forms import EmptyForm
from app.errors import StaleReport
from app.extensions import db
from app.i18n import lang
from app.inputs import record_id, whole_number
from app.models import Category
from app.reports import services as report_services
from app.reports.views import map_center
from app.triage import board as queries
from app.triage import bp, duplicates, services
from app.triage.models import ResponseTemplate
from app.triage.workflow import (
    DESTRUCTIVE_TARGETS,
    MOVE_LABELS,
    OUTCOME_LABELS,
    PRIORITIES,
    PRIORITY_LABELS,
    Status,
    primary_move,
)


def _pickers():
    from app.grids.models import Grid

    cats = list(db.session.scalars(select(Category).order_by(Category.hazard.desc(), Category.sort_order)))
    departments, handlers = services.dispatch_choices()
    grids = list(db.session.scalars(select(Grid).order_by(Grid.code).limit(500)))
    return {"categories": cats, "departments": departments, "handlers": handlers, "grids": grids}


def _row_helpers() -> dict:
    """Per-page constants for the board's rows: 50 rows must not translate and route 50 times."""
    from app.i18n import local_datetime

    words = {s.value: str(services.LABELS[s]) for s in Status}
    words.update({p: str(label) for p, label in PRIORITY_LABELS.items()})
    words.update(overdue=_("Overdue"), due_soon=_("Due soon"), escalated=_("Escalated"), warned=_("Half the time used"))
    words["suggested"] = _("Suggested")
    words["outside_area"] = _("Outside the area")
    words["hazard"] = _("Hazard")

    return {
        "words": words,
        "shorttime": local_datetime,
        "report_url": url_for("triage.report", report_id=0)[:-1],
        "undispatched": (Status.SUBMITTED.value, Status.ACCEPTED.value),
        "photo_url": url_for("reports.photo", photo_id=0, variant="thumb")[: -len("0/thumb.jpg")],
    }


@bp.route("/board")
@staff_required
def board():
    f = queries.parse_filter(request.args, sort_default="attention")
    counts = queries.status_counts(f)
    rows = queries.board_rows(f)
    return render_template(
        "triage/board.html",
        f=f,
        rows=rows,
        counts=counts,
        escalations=queries.escalation_levels(rows),
        total=queries.total_for(f, counts),
        form=EmptyForm(),
        **_row_helpers(),
        view="map" if request.args.get("view") == "map" else "list",
        deadline=queries.deadline_state,
        Status=Status,
        priorities=PRIORITIES,
        priority_labels=PRIORITY_LABELS,
        **_pickers(),
    )


@bp.route("/board/map.json")
@staff_required
def board_map():
    f = queries.parse_filter(request.args, sort_default="attention")
    points = queries.map_points(f)
    return jsonify(
        {
            "points": [
                {
                    "id": p.id,
                    "reference": p.reference,
                    "status": p.status,
                    "lat": p.lat,
                    "lon": p.lon,
                    "priority": p.priority,
                    "category": p.code,
                    "color": p.color,
                    "outside_area": bool(p.outside_area),
                    "url": url_for("triage.report", report_id=p.id),
                }
                for p in points
            ],
            "truncated": len(points) >= 5000,
        }
    )


@bp.route("/board/bulk", methods=["POST"])
@staff_required
def bulk():
    if not EmptyForm().validate_on_submit():
        abort(400)
    form = request.form
    ids = form.getlist("ids")
    versions = {}
    for rid in ids:
        number, sent = record_id(rid), form.get(f"v_{rid}")
        if number and sent:
            versions[number] = whole_number(sent)  # None when unreadable: that row is refused, not forced
    results = services.bulk(
        current_user,
        ids,
        form.get("action", ""),
        note=form.get("note", ""),
        assignee_id=form.get("assignee") or None,
        department_id=form.get("department") or None,
        priority=form.get("priority"),
        versions=versions,
    )
    db.session.commit()
    done = [r for r in results if r["ok"]]
    if done:
        flash(_("%(n)d of %(m)d reports updated.", n=len(done), m=len(results)), "ok")
    for r in results:
        if not r["ok"]:
            flash("{}: {}".format(r["reference"] or r["id"], r["message"]), "error")
    return redirect(safe_next(form.get("back"), url_for("triage.board")))


def _detail_context(report):
    from app.grids.services import dispatch_suggestion

    departments, handlers = services.dispatch_choices()
    templates = {}
    for t in db.session.scalars(select(ResponseTemplate).order_by(ResponseTemplate.sort_order, ResponseTemplate.id)):
        templates.setdefault(t.target_status, []).append(t)
    staff = current_user.is_staff
    events = report_services.timeline(report, include_internal=True)
    moves = services.legal_moves_for(current_user, report)
    primary = primary_move(report.status, moves)
    return {
        "report": report,
        # the riders' answers to "Is it fixed?" since the last resolve, shown beside the close step
        "answers": [
            e
            for e in events
            if e.kind == "confirmation" and report.resolved_at is not None and e.created_at >= report.resolved_at
        ],
        "form": EmptyForm(),
        "events": events,
        "moves": moves,
        "primary": primary,
        "secondary": [m for m in moves if m != primary],
        "destructive": DESTRUCTIVE_TARGETS,
        "move_labels": MOVE_LABELS,
        "categories": report_services.categories() if staff else [],
        "category_names": {c.code: c.name(lang()) for c in db.session.scalars(select(Category))},
        "outcome_labels": OUTCOME_LABELS,
        "Status": Status,
        "needs": lambda to: services.workflow.requirements(report.status, to),
        "candidates": duplicates.duplicate_candidates(report) if staff and report.is_open else [],
        "departments": departments,
        "handlers": handlers,
        "suggestion": dispatch_suggestion(report),  # by grid (属地), else the category's department
        # [id, name, department code]: the dispatch form lists only the chosen department's handlers
        "handler_options": [[h.id, h.display_name, h.department.code if h.department else ""] for h in handlers],
        "templates": templates,
        "priorities": PRIORITIES,
        "priority_labels": PRIORITY_LABELS,
        "deadline": queries.deadline_state(
            report.status, report.accept_due_at, report.resolve_due_at, report.created_at
        ),
        "map_center": map_center(),  # where the map to place a missing pin opens
        "staff": staff,
    }


@bp.route("/board/reports/<int:report_id>")
@staff_or_handler_required
def report(report_id: int):
    r = report_services.get_report(report_id)
    if not require_view(current_user, r):  # a handler whose own report was merged into it: the riders' page
        return redirect(url_for("reports.detail", report_id=r.id))
    return render_template("triage/report.html", **_detail_context(r))


@bp.route("/board/reports/<int:report_id>/panel")
@staff_required
def panel(report_id: int):
    """The report in the board's side panel: the report page's body without the page around it."""
    r = report_services.get_report(report_id)
    back = safe_next(request.args.get("back"), url_for("triage.board"))
    return render_template("triage/_panel.html", back=back, **_detail_context(r))


def _back_or(report_id: int) -> str:
    """Where a form sent from the board's side panel returns (the board, list kept), else the report page."""
    return safe_next(request.form.get("back"), url_for("triage.report", report_id=report_id))


def _stale_page(report_id: int, err: StaleReport):
    db.session.rollback()
    return render_template("triage/stale.html", message=err.message, report_id=report_id), 409


@bp.route("/board/reports/<int:report_id>/transition", methods=["POST"])
@staff_or_handler_required
def move(report_id: int):
    if not EmptyForm().validate_on_submit():
        abort(400)
    r = report_services.get_report(report_id)
    require_view(current_user, r)
    form = request.form
    photo = request.files.get("after_photo")
    try:
        services.transition(
            r,
            current_user,
            form.get("to", ""),
            version=form.get("version"),
            note=form.get("note"),
            assignee_id=form.get("assignee") or None,
            department_id=form.get("department") or None,
            outcome=form.get("outcome"),
            duplicate_of=form.get("duplicate_of"),
            reply=form.get("reply"),
            internal=True,  # the page's note is internal; the rider reads the separate reply
            after_photo=photo.stream if photo and photo.filename else None,
        )
    except StaleReport as err:
        return _stale_page(report_id, err)
    db.session.commit()
    flash(_("%(ref)s is now %(status)s.", ref=r.reference, status=services.LABELS[Status(r.status)]), "ok")
    return redirect(_back_or(r.id))


@bp.route("/board/reports/<int:report_id>/comment", methods=["POST"])
@staff_or_handler_required
def comment(report_id: int):
    if not EmptyForm().validate_on_submit():
        abort(400)
    r = report_services.get_report(report_id)
    require_view(current_user, r)
    services.add_comment(r, current_user, request.form.get("note", ""), internal=bool(request.form.get("internal")))
    db.session.commit()
    return redirect(url_for("triage.report", report_id=r.id) + "#timeline")


@bp.route("/board/reports/<int:report_id>/correct", methods=["POST"])
@staff_required
def correct(report_id: int):
    from app.reports.addresses import lookup_address_later
    from app.triage.corrections import correct_report

    if not EmptyForm().validate_on_submit():
        abort(400)
    r = report_services.get_report(report_id)
    form = request.form
    try:
        event = correct_report(
            r,
            current_user,
            version=form.get("version"),
            category=form.get("category"),
            lat=form.get("lat"),
            lon=form.get("lon"),
            note=form.get("note"),
        )
    except StaleReport as err:
        return _stale_page(report_id, err)
    moved = "lat" in event.details
    db.session.commit()
    if moved:
        lookup_address_later(report_id)
    flash(_("%(ref)s is corrected.", ref=r.reference), "ok")
    return redirect(_back_or(r.id))


@bp.route("/board/reports/<int:report_id>/priority", methods=["POST"])
@staff_required
def priority(report_id: int):
    if not EmptyForm().validate_on_submit():
        abort(400)
    r = report_services.get_report(report_id)
    try:
        services.set_priority(r, current_user, request.form.get("priority", ""), version=request.form.get("version"))
    except StaleReport as err:
        return _stale_page(report_id, err)
    db.session.commit()
    return redirect(url_for("triage.report", report_id=r.id))


@bp.route("/board/reports/<int:report_id>/location", methods=["POST"])
@staff_required
def location(report_id: int):
    """A coordinator sets the pin of a report (one filed as "location needed", or a pin in the wrong place)."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    r = report_services.get_report(report_id)
    try:
        services.set_location(
            r,
            current_user,
            request.form.get("lat", ""),
            request.form.get("lon", ""),
            version=request.form.get("version"),
        )
    except StaleReport as err:
        return _stale_page(report_id, err)
    db.session.commit()
    flash(_("The location of %(ref)s is set.", ref=r.reference), "ok")
    return redirect(url_for("triage.report", report_id=r.id))


@bp.route("/tasks")
@staff_or_handler_required
def my_tasks():
    rows = queries.task_rows(current_user)
    in_grid = queries.grid_rows(current_user)
    return render_template("triage/tasks.html", rows=rows, in_grid=in_grid, deadline=queries.deadline_state)


@bp.route("/reports/<int:report_id>/confirm", methods=["POST"])
@login_required
def confirm_page(report_id: int):
    """The "Is it fixed?" card's form (rider or co-reporter): fixed or not, an optional note and photo."""
    from app.errors import DomainError
    from app.triage.confirmation import confirm

    report = report_services.get_report(report_id)
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    photo = request.files.get("photo")
    try:
        confirm(
            report,
            current_user,
            fixed=request.form.get("fixed") == "1",
            note=request.form.get("note", ""),
            photo=photo.stream if photo and photo.filename else None,
        )
    except DomainError as err:
        db.session.rollback()  # nothing half-written (photo files are removed with the rolled-back rows)
        flash(str(err.message), "error")
        return redirect(url_for("reports.detail", report_id=report.id))
    db.session.commit()
    flash(
        _("Thank you: your answer is recorded.")
        if request.form.get("fixed") == "1"
        else _("Thank you: the department and the coordinators are told it is not fixed."),
        "info",
    )
    return redirect(url_for("reports.detail", report_id=report.id))
