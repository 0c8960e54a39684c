"""GET /api/v1/notifications and POST /api/v1/notifications/read: the bell for the app and the PWA."""

from flask import jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.api import bp
from app.errors import ValidationFailed
from app.extensions import db
from app.i18n import iso
from app.inputs import record_id
from app.notify import services
from app.notify.messages import render_all

MAX_IDS = 500  # one request marks at most this many (the bell shows 50 at a time)


@bp.route("/notifications", methods=["GET"])
@login_required
def list_notifications():
    unread_only = request.args.get("unread") in ("1", "true")
    items = services.notifications(current_user, unread_only=unread_only)
    out = []
    for n, title, body in render_all(items, str(get_locale() or "zh_CN")):
        out.append(
            {
                "id": n.id,
                "kind": n.kind,
                "title": title,
                "body": body,
                "created_at": iso(n.delivered_at),
                "read": n.read_at is not None,
                "report": {"id": n.report_id, "reference": n.params.get("reference")} if n.report_id else None,
            }
        )
    return jsonify({"items": out, "unread": services.unread_count(current_user)})


@bp.route("/notifications/count", methods=["GET"])
@login_required
def notification_count():
    """The bell's number alone (polled by the header of every page)."""
    response = jsonify({"unread": services.unread_count(current_user)})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/notifications/read", methods=["POST"])
@login_required
def read_notifications():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or ("all" not in body and "ids" not in body):
        raise ValidationFailed(_('Send {"ids": [...]} or {"all": true}.'), code="invalid_body")
    if body.get("all") is True:
        changed = services.mark_read(current_user)
    else:
        ids = body.get("ids")
        if (
            not isinstance(ids, list)
            or len(ids) > MAX_IDS
            or any(record_id(i) is None or isinstance(i, bool) for i in ids)
        ):
            raise ValidationFailed(_("ids must be a list of notification ids."), code="invalid_ids")
        changed = services.mark_read(current_user, [int(i) for i in ids])
    db.session.commit()
    return jsonify({"marked": changed, "unread": services.unread_count(current_user)})
