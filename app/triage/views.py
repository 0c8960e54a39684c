"""The triage board (first slice: a list of open reports) and report detail for staff."""
from flask import jsonify, render_template, request
from sqlalchemy import func, select

from app.api.representations import report_json
from app.auth.access import role_required
from app.extensions import db
from app.models import Report
from app.reports import services as report_services
from app.triage import bp
from app.triage.workflow import OPEN_STATUSES


def staff_report_list(page: int, per_page: int):
    """The board's list as JSON (filters come with the triage issue)."""
    q = select(Report).where(Report.status.in_([s.value for s in OPEN_STATUSES]))
    total = db.session.scalar(select(func.count()).select_from(q.subquery()))
    rows = db.session.scalars(q.order_by(Report.created_at.desc()).limit(per_page).offset((page - 1) * per_page))
    return jsonify({"items": [report_json(r) for r in rows], "page": page, "per_page": per_page, "total": total})


@bp.route("/board")
@role_required("coordinator", "admin")
def board():
    rows = db.session.scalars(select(Report).where(Report.status.in_([s.value for s in OPEN_STATUSES]))
                              .order_by(Report.created_at.desc()).limit(50))
    return render_template("triage/board.html", reports=list(rows))


@bp.route("/tasks")
@role_required("handler", "coordinator", "admin")
def my_tasks():
    return render_template("triage/board.html", reports=[])


@bp.route("/board/reports/<int:report_id>")
@role_required("coordinator", "admin", "handler")
def report(report_id: int):
    r = report_services.get_report(report_id)
    return render_template("reports/detail.html", report=r, events=report_services.timeline(r, True))
