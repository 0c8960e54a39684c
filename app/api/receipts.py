"""GET /api/v1/reports/<id>/receipt: the rider's signed receipt of a report (its token, page and image)."""

from flask import jsonify, url_for
from flask_login import current_user, login_required

from app.api import bp
from app.reports import receipts
from app.reports.receipt_views import receipt_links


@bp.route("/reports/<int:report_id>/receipt", methods=["GET"])
@login_required
def report_receipt(report_id: int):
    report = receipts.riders_report(current_user, report_id)
    token = receipts.issue(report)
    return jsonify(
        {
            "token": token,
            **receipt_links(token),
            "image_url": url_for("reports.receipt_image", report_id=report.id, _external=True),
        }
    )
