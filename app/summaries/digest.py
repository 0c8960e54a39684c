"""The weekly email digest: who gets it, the message (HTML and plain text), sending over SMTP."""
from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app, render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.errors import ValidationFailed
from app.extensions import db
from app.models import User
from app.summaries.services import WeeklySummary

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
STARTTLS = ("starttls", "true", "1", "yes")  # GRIDSNAP_SMTP_TLS values that upgrade a plain connection
TLS_MODES = ("ssl",) + STARTTLS
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


class InsecureSmtp(ValueError):
    """The SMTP password would cross the network unencrypted."""


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
        select(User.email).where(User.role.in_(("coordinator", "admin")), User.active.is_(True),
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
    cfg = current_app.config
    if cfg["SMTP_USER"] and cfg["SMTP_TLS"] not in TLS_MODES and cfg["SMTP_HOST"] not in LOCAL_HOSTS:
        raise InsecureSmtp(f"refusing to send the SMTP password unencrypted to {cfg['SMTP_HOST']}: "
                           "set GRIDSNAP_SMTP_TLS to starttls or ssl")
    messages = [message(s, address) for address in to]  # rendered before connecting
    # smtplib checks no certificate unless given a context: without one, anyone on the path could
    # pose as the mail server and read SMTP_PASSWORD.
    tls = ssl.create_default_context()
    if cfg["SMTP_TLS"] == "ssl":
        server = smtplib.SMTP_SSL(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=30, context=tls)
    else:
        server = smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=30)
    with server as smtp:
        if cfg["SMTP_TLS"] in STARTTLS:
            smtp.starttls(context=tls)
        if cfg["SMTP_USER"]:
            smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"])
        for msg in messages:
            smtp.send_message(msg)
    return to
