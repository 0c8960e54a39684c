"""/api/v1 for the workflow: transitions, duplicate candidates, nearby reports, riders' photos."""

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.api import bp
from app.api.representations import event_json, report_json
from app.auth.access import require_view
from app.auth.services import require_approved
from app.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.i18n import iso, lang
from app.inputs import flag
from app.reports import services as report_services
from app.reports.limits import comment_limit
from app.reports.places import place_label
from app.triage import board, duplicates, services
from app.triage.board import deadline_state
from app.triage.workflow import deadline_for


def board_item_json(row) -> dict:
    """A board row (Core row from triage.board) in the list API's shape."""
    lg = lang()
    state = deadline_state(row.status, row.accept_due_at, row.resolve_due_at, row.created_at)
    due = deadline_for(row.status, row.accept_due_at, row.resolve_due_at)
    return {
        "id": row.id,
        "reference": row.reference,
        "status": row.status,
        "version": row.version,
        "priority": row.priority,
        "category": row.category,
        "category_name": row.category_zh if lg == "zh" else row.category_en,
        "department": row.department,
        "assignee": row.assignee,
        "assignee_id": row.assignee_id,
        "description": row.description,
        "address": row.address,
        "place": place_label(row.place, lg),
        "lat": row.lat,
        "lon": row.lon,
        "grid_id": row.grid_id,
        "outside_area": bool(row.outside_area),
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
        "due_at": iso(due),
        "overdue": state == "overdue",
        "due_soon": state == "due_soon",
    }


def _body() -> dict:
    data = request.get_json(silent=True)
    if data is None:
        data = request.form.to_dict()
    if not isinstance(data, dict):
        raise ValidationFailed(_("Send a JSON object."))
    return data


@bp.route("/reports/<int:report_id>/transitions", methods=["POST"])
@login_required
def post_transition(report_id: int):
    report = report_services.get_report(report_id)
    require_view(current_user, report)
    data = _body()
    if "to" not in data:
        raise ValidationFailed(_('Say which status to move to ("to").'), code="to_required")
    photo = request.files.get("after_photo")  # multipart form: the "after" photo of a resolve
    services.transition(
        report,
        current_user,
        data.get("to"),
        version=data.get("version"),
        note=data.get("note"),
        assignee_id=data.get("assignee"),
        department_id=data.get("department"),
        outcome=data.get("outcome"),
        duplicate_of=data.get("duplicate_of"),
        reply=data.get("reply"),
        # a move's note is internal unless the caller says otherwise; "reply" is what the rider reads
        internal=True if data.get("internal") in (None, "") else flag(data.get("internal"), "internal"),
        after_photo=photo.stream if photo and photo.filename else None,
    )
    body = report_json(report, current_user)  # before the commit (the service flushed), which would expire the report
    db.session.commit()
    return jsonify(body)


@bp.route("/reports/<int:report_id>", methods=["PATCH"])
@login_required
def correct_report(report_id: int):
    """Staff correct the category and/or the location: {"version", "category"?, "lat"?, "lon"?, "note"?}."""
    from app.reports.addresses import lookup_address_later
    from app.triage.corrections import correct_report as correct

    report = report_services.get_report(report_id)
    if not current_user.is_staff:
        raise PermissionDenied(_("Only coordinators correct a report's category or location."))
    data = _body()
    event = correct(
        report,
        current_user,
        version=data.get("version"),
        category=data.get("category"),
        lat=data.get("lat"),
        lon=data.get("lon"),
        note=data.get("note"),
    )
    body = report_json(report, current_user)
    moved = "lat" in event.details
    db.session.commit()
    if moved:
        lookup_address_later(report_id)
    return jsonify(body)


@bp.route("/reports/<int:report_id>/duplicates", methods=["GET"])
@login_required
def report_duplicates(report_id: int):
    report = report_services.get_report(report_id)
    if not current_user.is_staff:
        raise PermissionDenied(_("Only coordinators look for duplicates."))
    found = duplicates.duplicate_candidates(report)
    return jsonify(
        {
            "items": [
                {
                    "id": r.id,
                    "reference": r.reference,
                    "status": r.status,
                    "category": r.category.code,
                    "created_at": iso(r.created_at),
                    "lat": r.lat,
                    "lon": r.lon,
                    "distance_m": round(d, 1),
                }
                for r, d in found
            ],
            "radius_m": current_app.config["DUPLICATE_RADIUS_M"],
            "days": current_app.config["DUPLICATE_DAYS"],
        }
    )


@bp.route("/reports/nearby", methods=["GET"])
@login_required
def nearby_reports():
    require_approved(current_user)  # other riders' descriptions: vetted riders only
    found = duplicates.nearby_open_reports(
        request.args.get("category", ""), request.args.get("lat"), request.args.get("lon")
    )
    items = []
    for r, d in found:
        items.append(
            {
                "id": r.id,
                "reference": r.reference,
                "status": r.status,
                "category": r.category.code,
                "category_name": r.category.name(lang()),
                "created_at": iso(r.created_at),
                "description": (r.description or "")[:140],
                "distance_m": round(d),
                "mine": services.follows(current_user, r),
            }
        )
    return jsonify({"items": items, "radius_m": current_app.config["DUPLICATE_RADIUS_M"]})


@bp.route("/reports/<int:report_id>/photos", methods=["POST"])
@login_required
@comment_limit
def add_photos(report_id: int):
    report = report_services.get_report(report_id)
    files = [f for f in request.files.getlist("photos") if f and f.filename != ""]
    event = services.add_rider_photos(
        report,
        current_user,
        [f.stream for f in files],
        request.form.get("comment", ""),
        lat=request.form.get("lat"),
        lon=request.form.get("lon"),
        radius_m=2 * current_app.config["DUPLICATE_RADIUS_M"],
        max_photos=current_app.config["MAX_PHOTOS"],
    )
    db.session.commit()
    return jsonify({"report": report_json(report, current_user), "event": event_json(event)}), 201


@bp.route("/reports/<int:report_id>/comments", methods=["POST"])
@login_required
@comment_limit
def add_comment(report_id: int):
    report = report_services.get_report(report_id)
    data = _body()
    event = services.add_comment(
        report, current_user, data.get("note", ""), internal=flag(data.get("internal"), "internal")
    )
    db.session.commit()
    return jsonify(event_json(event)), 201


def _answer() -> dict:
    """An answer to "is it fixed?": JSON {"fixed", "note", ...}, or a form with an optional photo."""
    if request.mimetype == "multipart/form-data" or request.form:
        raw = (request.form.get("fixed") or "").strip().lower()
        fixed = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}.get(raw, raw)
        photo = request.files.get("photo")
        data = dict(request.form.items())
        data.update(fixed=fixed, photo=photo.stream if photo and photo.filename else None)
    else:
        data = dict(_body(), photo=None)
    data.setdefault("note", "")
    return data


@bp.route("/reports/<int:report_id>/confirmation", methods=["POST"])
@login_required
def confirm_fixed(report_id: int):
    """The rider's answer to "Is it fixed?"."""
    from app.triage.confirmation import confirm

    report = report_services.get_report(report_id)
    data = _answer()
    confirm(report, current_user, fixed=data.get("fixed"), note=data["note"], photo=data["photo"])
    db.session.commit()
    return jsonify(report_json(report, current_user))


@bp.route("/reports/fixed-nearby", methods=["GET"])
@login_required
def fixed_nearby():
    """Fixed? Take a look: reports resolved lately near the rider."""
    from app.triage import confirmation

    if not current_user.is_rider:
        raise PermissionDenied(_("Only riders take a look at fixed reports."))
    require_approved(current_user)
    found = confirmation.resolved_nearby(current_user, request.args.get("lat"), request.args.get("lon"))
    return jsonify(
        {
            "items": [
                {
                    "id": r.id,
                    "reference": r.reference,
                    "category": r.category.code,
                    "category_name": r.category.name(lang()),
                    "resolved_at": iso(r.resolved_at),
                    "distance_m": round(d),
                }
                for r, d in found
            ],
            "radius_m": confirmation.PASSER_BY_RADIUS_M,
            "days": confirmation.PASSER_BY_DAYS,
        }
    )


@bp.route("/reports/<int:report_id>/verification", methods=["POST"])
@login_required
@comment_limit
def look_at_fixed(report_id: int):
    """A passer-by's answer to "Fixed? Take a look"."""
    from app.triage.confirmation import look

    require_approved(current_user)
    report = report_services.get_report(report_id)
    data = _answer()
    event = look(
        report,
        current_user,
        fixed=data.get("fixed"),
        lat=data.get("lat"),
        lon=data.get("lon"),
        note=data["note"],
        photo=data["photo"],
    )
    db.session.commit()
    return jsonify({"id": report.id, "reference": report.reference, "fixed": event.details["fixed"]})


def staff_report_list(page: int, per_page: int):
    """GET /api/v1/reports for staff: the board's filters as query parameters, with counts."""
    f = board.parse_filter(request.args, per_page_default=per_page)
    counts = board.status_counts(f)
    rows = board.board_rows(f)
    return jsonify(
        {
            "items": [board_item_json(r) for r in rows],
            "page": f.page,
            "per_page": f.per_page,
            "total": board.total_for(f, counts),
            "counts": counts,
            "filter": f.args(page=None),
        }
    )
