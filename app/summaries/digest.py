"""The weekly email digest: who gets it, the message (HTML and plain text), sending over SMTP."""
from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.errors import ValidationFailed
from app.extensions import db
from app.mail import send_mail
from app.models import User
from app.summaries.services import WeeklySummary
from app.models import STAFF_ROLES

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def set_preference(user: User, wants: bool, email: str) -> None:
    """Turn the digest on or off for a coordinator or admin; turning it on needs a valid address."""
    email = (email or "").strip()
    if email and (len(email) > 200 or not EMAIL.match(email)):
        raise ValidationFailed(_l("That email address does not look right."), code="invalid_email")
    if email:
        user.email = email
    if wants and not user.email:
        raise ValidationFailed(_l("Enter an email address to receive the weekly digest."), code="email_required")
    user.wants_digest = wants
    db.session.flush()


def recipients() -> list[str]:
    """Addresses of active coordinators and admins who opted in."""
    return list(db.session.scalars(
        select(User.email).where(User.role.in_(STAFF_ROLES), User.active.is_(True),
                                 User.wants_digest.is_(True), User.email.is_not(None), User.email != "")
        .order_by(User.id)))


def week_url(s: WeeklySummary) -> str:
    base = (current_app.config.get("BASE_URL") or "http://localhost:5000").rstrip("/")
    return f"{base}/summaries/{s.week}"


def message(s: WeeklySummary, to: str) -> EmailMessage:
    """The digest to one address, as a multipart/alternative message: plain text first, then HTML."""
    cfg = current_app.config
    msg = EmailMessage()
    msg["Subject"] = f"GridSnap 网格随手拍 {s.week}: {s.received} reports / 上报{s.received}件"
    msg["From"] = cfg["SMTP_SENDER"]
    msg["To"] = to
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="gridsnap")
    url = week_url(s)
    msg.set_content(render_template("summaries/email.txt", s=s, url=url))
    msg.add_alternative(render_template("summaries/email.html", s=s, url=url), subtype="html")
    return msg


def send_digest(s: WeeklySummary, to: list[str] | None = None) -> list[str]:
    """Send the digest to the opted-in staff (or `to`), one message each over one connection (no one sees
    the others' addresses); returns the addresses it went to."""
    to = recipients() if to is None else to
    if not to:
        return []
    messages = [message(s, address) for address in to]  # rendered before connecting
    send_mail(current_app.config, messages)
    return to
