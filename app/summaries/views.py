"""Summary pages for coordinators and admins: the list of weeks, one week as HTML, JSON or CSV (its
published record once published), its versions, the recompute comparison, the trends."""

from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from app import i18n
from app.auth.access import role_required, staff_required
from app.auth.forms import EmptyForm
from app.errors import DomainError, NotFound, ValidationFailed
from app.extensions import db
from app.inputs import page_number
from app.models import Role
from app.summaries import archive, bp, digest, frozen, render, services, trends

PER_PAGE = 26
MAX_PAGE = 1000  # 26,000 weeks back: far enough, and week arithmetic stays inside the calendar


@bp.route("/")
@staff_required
def index():
    page = page_number(request.args.get("page"), maximum=MAX_PAGE)
    weeks, older = services.recent_weeks(PER_PAGE, offset=(page - 1) * PER_PAGE)
    archived = archive.published_weeks([w["week"] for w in weeks])
    for w in weeks:
        w["published_at"] = archived.get(w["week"])
    return render_template("summaries/index.html", weeks=weeks, page=page, older=older)


def _csv(summary, suffix: str = "") -> Response:
    return _csv_response(render.csv_text(summary), f"{summary.week}{suffix}")


def _csv_response(body: str, name: str) -> Response:
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="gridsnap-{name}.csv"'}
    )


def _published_headers(response, record):
    response.headers["X-GridSnap-Published"] = record.published_at.isoformat()
    response.headers["X-GridSnap-Version"] = str(record.version)
    return response


@bp.route("/<name>")
@staff_required
def week(name: str):
    week_name, _dot, fmt = name.partition(".")
    if fmt not in ("", "json", "csv"):
        raise NotFound(_("Summaries come as a page, .json or .csv."))
    try:
        wk = services.resolve_week(week_name)
        record = archive.published(wk.name)
        summary = None if record is not None else services.weekly_summary(wk.name)
    except DomainError as err:
        if fmt != "json":
            raise
        return jsonify({"error": {"code": err.code, "message": str(err.message)}}), err.status
    if record is None:
        return _live(summary, fmt)
    if fmt == "json":  # the stored text as it is: nothing decoded or encoded again
        return _published_headers(Response(archive.data_text(record), mimetype="application/json"), record)
    if fmt == "csv":
        body = frozen.rendered(("csv", record.id), lambda: render.csv_text(archive.summary_of(record)))
        return _published_headers(_csv_response(body, record.week), record)
    lang = i18n.lang()
    key = ("page", record.id, lang, archive.archive_mark())

    def body() -> str:
        s = archive.summary_of(record)
        return render_template(
            "summaries/_body.html",
            s=s,
            record=record,
            trend=archive.headline_series(wk),
            with_map=True,
        )

    return render_template(
        "summaries/week.html",
        s=archive.page_facts(record),
        record=record,
        body_html=Markup(frozen.rendered(key, body)),
        late=archive.late_changes(record),
        versions=archive.versions(record.week) if record.version > 1 else [],
        button=EmptyForm(),
    )


def _live(summary, fmt: str):
    """A week not published (the current one, or one not yet published): the figures computed now."""
    if fmt == "json":
        return jsonify(summary.to_dict())
    if fmt == "csv":
        return _csv(summary)
    return render_template(
        "summaries/week.html",
        s=summary,
        record=None,
        button=EmptyForm(),
        trend=archive.headline_series(services.resolve_week(summary.week), live=summary),
    )


@bp.route("/<name>/versions/<int:number>.<any(json, csv):fmt>")
@staff_required
def version(name: str, number: int, fmt: str):
    """One published version of a week, as it was published (the current one or an earlier)."""
    record = archive.version_of(services.resolve_week(name).name, number)
    if fmt == "json":
        return _published_headers(jsonify(record.data), record)
    return _published_headers(_csv(archive.summary_of(record), f"-v{record.version}"), record)


@bp.route("/<name>/recompute")
@staff_required
def recompute(name: str):
    """The published figures beside the figures computed now, differences highlighted."""
    wk = services.resolve_week(name)
    record = archive.published(wk.name)
    if record is None:
        raise NotFound(_("%(week)s is not published: its page shows the figures computed now.", week=wk.name))
    live = services.weekly_summary(wk.name)
    return render_template(
        "summaries/recompute.html",
        record=record,
        live=live,
        late=archive.late_changes(record),
        diff=archive.compare(record.data, live),
        figures=archive.GROUP_FIGURES,
        button=EmptyForm(),
    )


@bp.route("/<name>/publish", methods=["POST"])
@role_required(Role.ADMIN.value)
def republish(name: str):
    """Publish a complete week (again): a new version, the earlier ones kept."""
    if not EmptyForm().validate_on_submit():
        raise ValidationFailed(_("Your form expired. Reload the page and try again."))
    wk = services.resolve_week(name)
    record, _created = archive.publish(wk.name, actor=current_user, again=True)
    db.session.commit()
    flash(_("%(week)s published: version %(n)s.", week=record.week, n=record.version), "ok")
    return redirect(url_for("summaries.week", name=record.week))


@bp.route("/trends")
@bp.route("/trends.<any(csv):fmt>")
@staff_required
def trends_page(fmt: str = ""):
    """Weekly series per category, grid or department from the published weeks, as a chart and CSV."""
    first_default, last_default = trends.default_range()
    first = request.args.get("from") or first_default
    last = request.args.get("to") or last_default
    by = request.args.get("by") or "category"
    figure = request.args.get("figure") or "received"
    t = trends.trend(first, last, by, figure)
    if fmt == "csv":
        return Response(
            render.trend_csv(t),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="gridsnap-trends-{by}-{first}-{last}.csv"'},
        )
    return render_template(
        "summaries/trends.html",
        t=t,
        chart=trends.chart(t),
        first=first,
        last=last,
        groupings=trends.BY,
        figures=archive.GROUP_FIGURES,
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
