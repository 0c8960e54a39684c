"""The receipt pages: the rider's (with its QR code and image), the public check, the public key."""

import segno
from flask import Response, jsonify, render_template, url_for
from flask_babel import force_locale
from flask_login import current_user, login_required

from app.i18n import status_label
from app.reports import bp, receipts
from app.reports.receipt_image import render_png


def receipt_links(token: str) -> dict:
    """Where a receipt is checked, and where its image is."""
    return {"url": url_for("reports.verify_receipt", token=token, _external=True)}


@bp.route("/reports/<int:report_id>/receipt")
@login_required
def receipt(report_id: int):
    report = receipts.riders_report(current_user, report_id)
    token = receipts.issue(report)
    url = receipt_links(token)["url"]
    qr = segno.make(url, error="m").svg_inline(omitsize=True, border=2, title=url)
    checked = receipts.Checked(receipts.signed_facts(token), revoked=False, status=report.status)
    return render_template("reports/receipt.html", report=report, checked=checked, url=url, qr=qr)


@bp.route("/reports/<int:report_id>/receipt.png")
@login_required
def receipt_image(report_id: int):
    report = receipts.riders_report(current_user, report_id)
    token = receipts.issue(report)
    with force_locale("zh_CN"):
        status = str(status_label(report.status))
    png = render_png(receipts.signed_facts(token), status, receipt_links(token)["url"])
    response = Response(png, mimetype="image/png")
    response.headers["Content-Disposition"] = f'inline; filename="receipt-{report.reference}.png"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/verify/<token>")
def verify_receipt(token: str):
    """Public, no login: the signed facts and whether the report stands; never a name, number or photo."""
    try:
        checked = receipts.check(token)
    except receipts.ReceiptInvalid as err:
        return render_template("reports/verify.html", checked=None, message=err.message), 400
    return render_template("reports/verify.html", checked=checked, status=status_label(checked.status))


@bp.route("/.well-known/gridsnap-receipt-key.json")
def receipt_key():
    response = jsonify(receipts.public_key_document())
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
