"""Admin pages for notifications: a department's group robot, and deliveries that gave up (with retry)."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import func, select

from app import audit
from app.admin import bp, services
from app.auth.forms import EmptyForm
from app.errors import DomainError
from app.extensions import db
from app.inputs import page_number, record_id
from app.notify.delivery import retry
from app.notify.models import Delivery, DeliveryState, Notification
from app.notify.robots import KINDS
from app.notify.services import set_webhook

PER_PAGE = 50


@bp.route("/departments/<int:department_id>/webhook", methods=["POST"])
def department_webhook(department_id: int):
    """Set or remove the department's group robot (the secret is kept when left empty)."""
    dept = services.get_department(department_id)
    if not EmptyForm().validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return redirect(url_for("admin.department", department_id=dept.id))
    before = {"webhook_kind": dept.webhook_kind, "webhook_url": dept.webhook_url}
    kind = request.form.get("kind", "generic")
    secret = request.form.get("secret", "") or (dept.webhook_secret or "")
    if request.form.get("clear_secret"):
        secret = ""
    try:
        if kind not in KINDS:
            raise DomainError(_("Choose the kind of robot."), code="invalid_webhook")
        set_webhook(dept.code, request.form.get("url", ""), kind, secret)
        audit.record(
            current_user,
            "department.update",
            "department",
            dept.id,
            dept.code,
            before=before,
            after={"webhook_kind": dept.webhook_kind, "webhook_url": dept.webhook_url},
        )
        db.session.commit()
        flash(_("Saved."), "ok")
    except DomainError as err:
        db.session.rollback()
        flash(str(err.message), "error")
    return redirect(url_for("admin.department", department_id=dept.id))


@bp.route("/deliveries")
def deliveries():
    """Deliveries that gave up, newest first, with why."""
    page = page_number(request.args.get("page"))
    query = (
        select(Delivery)
        .join(Notification)
        .where(Delivery.state == DeliveryState.DEAD.value)
        .order_by(Delivery.next_attempt_at.desc(), Delivery.id.desc())
    )
    total = (
        db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.state == DeliveryState.DEAD.value))
        or 0
    )
    rows = db.session.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return render_template(
        "admin/deliveries.html", rows=rows, total=total, page=page, per_page=PER_PAGE, button=EmptyForm()
    )


@bp.route("/deliveries/retry", methods=["POST"])
def retry_deliveries():
    """Queue dead deliveries again: the chosen ones, or all of them."""
    if not EmptyForm().validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return redirect(url_for("admin.deliveries"))
    ids = None if request.form.get("all") else [i for i in (record_id(v) for v in request.form.getlist("id")) if i]
    n = retry(ids[:500] if ids is not None else None)
    db.session.commit()
    flash(ngettext("%(num)d delivery queued again.", "%(num)d deliveries queued again.", n), "ok")
    return redirect(url_for("admin.deliveries"))
