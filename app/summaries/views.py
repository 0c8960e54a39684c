"""Summary pages for coordinators and admins: the list of weeks, one week as HTML, JSON or CSV."""

from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.access import staff_required
from app.auth.forms import EmptyForm
from app.errors import DomainError, NotFound, ValidationFailed
from app.extensions import db
from app.inputs import page_number
from app.summaries import bp, digest, render, services

PER_PAGE = 26
MAX_PAGE = 1000  # 26,000 weeks back: far enough, and week arithmetic stays inside the calendar


@bp.route("/")
@staff_required
def index():
    page = page_number(request.args.get("page"), maximum=MAX_PAGE)
    weeks, older = services.recent_weeks(PER_PAGE, offset=(page - 1) * PER_PAGE)
    return render_template("summaries/index.html", weeks=weeks, page=page, older=older)


@bp.route("/<name>")
@staff_required
def week(name: str):
    week_name, _dot, fmt = name.partition(".")
    if fmt not in ("", "json", "csv"):
        raise NotFound(_("Summaries come as a page, .json or .csv."))
    try:
        summary = services.weekly_summary(week_name)
    except DomainError as err:
        if fmt != "json":
            raise
        return jsonify({"error": {"code": err.code, "message": str(err.message)}}), err.status
    if fmt == "json":
        return jsonify(summary.to_dict())
    if fmt == "csv":
        return Response(
            render.csv_text(summary),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="gridsnap-{summary.week}.csv"'},
        )
    return render_template(
        "summaries/week.html",
        s=summary,
    )


@bp.route("/digest", methods=["POST"])
@staff_required
def digest_preference():
    """Opt in or out of the weekly email digest (from the profile page)."""
    if not EmptyForm().validate_on_submit():
        raise ValidationFailed(_("Your form expired. Reload the page and try again."))
    digest.set_preference(current_user, request.form.get("wants_digest") == "y", request.form.get("email", ""))
    db.session.commit()
    flash(_("Weekly digest: on.") if current_user.wants_digest else _("Weekly digest: off."), "ok")
    return redirect(url_for("auth.profile"))
