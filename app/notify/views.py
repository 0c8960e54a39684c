"""The bell in the header and the notifications page."""

from flask import flash, has_request_context, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth.forms import EmptyForm
from app.errors import DomainError
from app.extensions import db
from app.inputs import record_id
from app.notify import bp, services
from app.notify.messages import render_all


def bell() -> dict:
    """The unread count for the header of every page (one indexed count, only when logged in)."""
    if not has_request_context() or not getattr(current_user, "is_authenticated", False):
        return {}  # the CLI renders pages too (a summary to a file)
    return {"unread_notifications": services.unread_count(current_user)}


@bp.route("/notifications")
@login_required
def index():
    items = services.notifications(current_user, unread_only=request.args.get("unread") == "1")
    locale = str(get_locale() or "zh_CN")
    return render_template("notify/index.html", items=render_all(items, locale), form=EmptyForm())


@bp.route("/notifications/read", methods=["POST"])
@login_required
def read():
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("notify.index"))
    if request.form.get("all"):
        services.mark_read(current_user)
    else:
        ids = [i for i in (record_id(v) for v in request.form.getlist("id")) if i]
        services.mark_read(current_user, ids)
    db.session.commit()
    target = request.form.get("next_report")
    rid = record_id(target) if target else None
    return redirect(url_for("reports.detail", report_id=rid) if rid else url_for("notify.index"))


@bp.route("/notifications/settings", methods=["GET", "POST"])
@login_required
def settings():
    """Besides the bell: email and SMS, each switched on by the user (quiet hours hold them at night)."""
    form = EmptyForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return _settings_page(form), 400
        try:
            services.set_channels(
                current_user,
                email=bool(request.form.get("email")),
                sms=bool(request.form.get("sms")),
                address=request.form.get("address", ""),
            )
            if request.form.get("kinds"):  # the form lists the kinds: what is not ticked is off
                services.set_kinds(current_user, request.form.getlist("on"))
        except DomainError as err:
            db.session.rollback()
            flash(str(err.message), "error")
            return _settings_page(form), err.status
        db.session.commit()
        flash(_("Saved."), "ok")
        return redirect(url_for("notify.settings"))
    return _settings_page(form)


def _settings_page(form):
    return render_template("notify/settings.html", form=form, rows=services.channel_choices(current_user))
