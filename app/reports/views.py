"""The rider's pages: the report form, the confirmation, My reports, a report, and photos."""

import io

from flask import abort, current_app, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from app.auth.access import require_photo_view, require_view
from app.auth.forms import EmptyForm
from app.extensions import db
from app.grids.area import map_center, service_area
from app.inputs import page_number
from app.models import Photo
from app.reports import bp, seen, services
from app.reports.limits import report_limit
from app.storage import photo_store


@bp.route("/report", methods=["GET"])
@login_required
def new():
    cats = services.categories()
    return render_template(
        "reports/new.html",
        categories=cats,
        form=EmptyForm(),
        map_center=map_center(),
        service_area=service_area().for_phone(),
        area_name=current_app.config["SERVICE_AREA_NAME"],
    )


@bp.route("/report", methods=["POST"])
@login_required
@report_limit(idempotency_key=lambda: request.form.get("idempotency_key"))
def create():
    """The plain form post (no JavaScript): original photos, location from the form or EXIF."""
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    files = [f for f in request.files.getlist("photos") if f and f.filename != ""]
    report, created = services.submit_report(
        current_user,
        photo_store(),
        category=request.form.get("category", ""),
        photos=[f.stream for f in files],
        description=request.form.get("description", ""),
        lat=request.form.get("lat"),
        lon=request.form.get("lon"),
        accuracy=request.form.get("accuracy"),
        location_source=request.form.get("location_source") or "map",
        building=request.form.get("building", ""),
        idempotency_key=request.form.get("idempotency_key"),
        max_photos=current_app.config["MAX_PHOTOS"],
        voice=_voice_upload(),
        voice_seconds=request.form.get("voice_seconds"),
    )
    db.session.commit()
    if created:
        from app.reports.addresses import lookup_address_later

        lookup_address_later(report.id)
    return redirect(url_for("reports.filed", report_id=report.id))


@bp.route("/reports/<int:report_id>/filed")
@login_required
def filed(report_id: int):
    report = services.get_report(report_id)
    require_view(current_user, report)
    return render_template("reports/filed.html", report=report)


@bp.route("/mine")
@login_required
def mine():
    page = page_number(request.args.get("page"))
    rows, total = services.my_reports(current_user, page, 20)
    shown = {r.id: services.shown_to(current_user, r) for r in rows}
    unread = seen.unread_counts(current_user, [r.id for r in rows])
    html = render_template(
        "reports/mine.html", reports=rows, total=total, page=page, per_page=20, shown=shown, unread=unread
    )
    # Shown once: what was new on this visit is seen now.
    for r in rows:
        if unread.get(r.id):
            seen.mark_seen(current_user, r)
    db.session.commit()
    return html


@bp.route("/reports/<int:report_id>")
@login_required
def detail(report_id: int):
    report = services.get_report(report_id)
    whole = require_view(current_user, report)
    if whole and (current_user.is_staff or current_user.is_handler):
        return redirect(url_for("triage.report", report_id=report.id))
    html = render_template("reports/detail.html", report=report, shown=services.shown_to(current_user, report))
    seen.mark_seen(current_user, report)
    db.session.commit()
    return html


@bp.route("/photos/<int:photo_id>/<any(display, thumb):variant>.jpg")
@login_required
def photo(photo_id: int, variant: str):
    photo = db.session.get(Photo, photo_id)
    if photo is None:
        abort(404)
    require_photo_view(current_user, photo)
    from app.storage import photo_response  # local file, S3 stream or presigned redirect

    return photo_response(photo.key if variant == "display" else photo.thumb_key)


@bp.route("/voice/<int:report_id>")  # under TOKEN_PATHS: API clients fetch it with their token
@login_required
def voice(report_id: int):
    """The report's voice note, to whoever sees the report whole (its rider, the staff, its handlers)."""
    report = services.get_report(report_id)
    if not require_view(current_user, report) or not report.voice_key:
        abort(404)
    try:
        data = photo_store().get(report.voice_key)
    except FileNotFoundError:
        current_app.logger.error("voice note missing from the store: %s", report.voice_key)
        abort(404)
    # From memory (at most 200 KB) with Range support: Safari and WeChat on iOS play only what answers 206.
    response = send_file(io.BytesIO(data), mimetype=report.voice_type, conditional=True, max_age=0)
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"
    return response


def _voice_upload():
    """The voice note sent with the report, if any."""
    upload = request.files.get("voice")
    return upload.stream if upload and upload.filename != "" else None
