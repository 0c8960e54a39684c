"""POST and GET /api/v1/reports for riders and scripts."""

from flask import current_app, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from app.api import bp
from app.api.representations import event_json, report_json
from app.auth.access import require_view
from app.errors import ValidationFailed
from app.extensions import db
from app.inputs import MAX_PAGE, flag, integer
from app.reports import services
from app.reports.limits import report_limit
from app.storage import photo_store


@bp.route("/reports", methods=["POST"])
@login_required
@report_limit()
def create_report():
    files = [f for f in request.files.getlist("photos") if f and f.filename != ""]
    form = request.form
    report, created = services.submit_report(
        current_user,
        photo_store(),
        category=form.get("category", ""),
        photos=[f.stream for f in files],
        description=form.get("description", ""),
        lat=form.get("lat"),
        lon=form.get("lon"),
        accuracy=form.get("accuracy"),
        location_source=form.get("location_source"),
        building=form.get("building", ""),
        idempotency_key=request.headers.get("Idempotency-Key"),
        captured_at=form.get("captured_at"),
        max_photos=current_app.config["MAX_PHOTOS"],
        voice=_voice_upload(),
        voice_seconds=request.form.get("voice_seconds"),
    )
    # From the objects in memory (flushed by the service): a commit expires them.
    body = report_json(report, current_user)
    db.session.commit()
    if created:
        from app.reports.addresses import lookup_address_later

        lookup_address_later(body["id"])
    response = jsonify(body)
    response.status_code = 201 if created else 200
    response.headers["Location"] = url_for("api.get_report", report_id=body["id"])
    return response


@bp.route("/csrf", methods=["GET"])
@login_required
def csrf_token():
    """A fresh CSRF token for pages served from the phone's cache (the offline outbox sends with it), and
    who is logged in (the outbox sends each rider's reports only under their own login)."""
    response = jsonify({"csrf_token": generate_csrf(), "user": current_user.id})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/reports/<int:report_id>", methods=["GET"])
@login_required
def get_report(report_id: int):
    report = services.get_report(report_id)
    require_view(current_user, report)
    return jsonify(report_json(report, current_user))


@bp.route("/reports/<int:report_id>/events", methods=["GET"])
@login_required
def report_events(report_id: int):
    report = services.get_report(report_id)
    whole = require_view(current_user, report)
    internal = whole and (current_user.is_staff or current_user.is_handler)
    events = services.timeline(report, internal, co_reporter=None if whole else current_user)
    return jsonify({"events": [event_json(e) for e in events]})


def page_args(default_size: int = 20, max_size: int = 100) -> tuple[int, int]:
    """page and per_page from the query string, validated."""
    try:
        page = integer(request.args.get("page"), 1)
        per_page = integer(request.args.get("per_page"), default_size)
    except ValueError:
        raise ValidationFailed(_("page and per_page must be whole numbers.")) from None
    if not 1 <= page <= MAX_PAGE or not 1 <= per_page <= max_size:
        raise ValidationFailed(_("page must be 1 or more and per_page between 1 and %(n)d.", n=max_size))
    return page, per_page


@bp.route("/reports", methods=["GET"])
@login_required
def list_reports():
    page, per_page = page_args()
    if flag(request.args.get("mine"), "mine") or not current_user.is_staff:  # mine=0: the board's list
        rows, total = services.my_reports(current_user, page, per_page)
        return jsonify(
            {"items": [report_json(r, current_user) for r in rows], "page": page, "per_page": per_page, "total": total}
        )
    from app.api.triage import staff_report_list  # the board's filters

    return staff_report_list(page, per_page)


def _voice_upload():
    """The voice note sent with the report, if any."""
    upload = request.files.get("voice")
    return upload.stream if upload and upload.filename != "" else None
