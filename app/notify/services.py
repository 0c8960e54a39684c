"""Reading and managing notifications: a user's bell, marking read, a department's robot."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.models import Department, User, utcnow
from app.notify.models import Notification
from app.text import clean_text

PAGE = 50


def _visible(user: User):
    return (Notification.user_id == user.id) & Notification.delivered_at.is_not(None)


def unread_count(user: User) -> int:
    """Delivered, unread notifications of this user (the bell's number)."""
    return (
        db.session.scalar(
            select(func.count()).select_from(Notification).where(_visible(user), Notification.read_at.is_(None))
        )
        or 0
    )


def notifications(user: User, *, unread_only: bool = False, limit: int = PAGE) -> list[Notification]:
    """The user's delivered notifications, newest first."""
    query = select(Notification).where(_visible(user))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(
        db.session.scalars(query.order_by(Notification.delivered_at.desc(), Notification.id.desc()).limit(limit))
    )


def mark_read(user: User, ids: Iterable[int] | None = None, now: datetime | None = None) -> int:
    """Mark these (or, with None, all) of the user's notifications read; returns how many changed."""
    query = update(Notification).where(_visible(user), Notification.read_at.is_(None))
    if ids is not None:
        ids = [i for i in ids]
        if not ids:
            return 0
        query = query.where(Notification.id.in_(ids))
    return db.session.execute(query.values(read_at=now or utcnow())).rowcount


def channel_choices(user: User) -> list[dict]:
    """The settings page's rows: each kind that may reach this user outside the app, with whether email and
    (for the kinds sent by text message) SMS are on for it."""
    from app.notify.messages import KIND_LABELS, OUTSIDE_KINDS
    from app.notify.outbox import SMS_KINDS

    off = set(user.notify_off or ())
    return [
        {
            "kind": kind.value,
            "label": KIND_LABELS[kind],
            "email": f"email:{kind}" not in off,
            "sms": (f"sms:{kind}" not in off) if kind in SMS_KINDS else None,
        }
        for kind in OUTSIDE_KINDS.get(user.role, ())
    ]


def set_kinds(user: User, on: Iterable[str]) -> None:
    """Keep on exactly the given "channel:kind" pairs among this user's rows; the others are turned off."""
    possible = set()
    for row in channel_choices(user):
        possible.add(f"email:{row['kind']}")
        if row["sms"] is not None:
            possible.add(f"sms:{row['kind']}")
    chosen = set(on)
    if not chosen <= possible:
        raise ValidationFailed(_l("That is not a kind of message you can receive."), code="invalid_kind")
    user.notify_off = sorted(possible - chosen)
    db.session.flush()


def set_channels(user: User, *, email: bool, sms: bool, address: str = "") -> None:
    """Switch email and SMS notifications on or off; email needs an address, SMS a phone number."""
    import re

    address = (address or "").strip()
    if address and (len(address) > 200 or not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", address)):
        raise ValidationFailed(_l("That email address does not look right."), code="invalid_email")
    if address:
        user.email = address
    if email and not user.email:
        raise ValidationFailed(_l("Enter an email address to be told by email."), code="email_required")
    if sms and not user.phone:
        raise ValidationFailed(_l("Your account has no phone number for text messages."), code="phone_required")
    user.notify_email, user.notify_sms = email, sms
    db.session.flush()


def set_webhook(code: str, url: str, kind: str, secret: str = "") -> Department:
    """Set or (with an empty url) remove a department's group robot; the caller commits."""
    from app.notify.robots import validate_webhook

    dept = db.session.scalar(select(Department).where(Department.code == clean_text(code)))
    if dept is None:
        raise NotFound(_l("No such department."))
    url = (url or "").strip()
    if not url:
        dept.webhook_url = dept.webhook_kind = dept.webhook_secret = None
        return dept
    try:
        validate_webhook(kind, url)
    except ValueError as err:
        raise ValidationFailed(str(err), code="invalid_webhook") from err
    if len(url) > 500 or len(secret or "") > 200:
        raise ValidationFailed(_l("The webhook address or secret is too long."), code="invalid_webhook")
    dept.webhook_url, dept.webhook_kind, dept.webhook_secret = url, kind, (secret or None)
    db.session.flush()
    return dept
