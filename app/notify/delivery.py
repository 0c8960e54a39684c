"""Delivering the outbox: claim due deliveries, send each through its channel, retry with backoff, give up."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.mail import send_mail
from app.models import Category, User, utcnow
from app.notify.messages import render
from app.notify.models import DUE_STATES, Channel, Delivery, DeliveryState, Notification
from app.notify.robots import RobotMessage, send_to_robot
from app.sending import DeliveryFailed

log = logging.getLogger("gridsnap.notify")

FIRST_RETRY = 15.0  # seconds; with jitter the first retry comes within 30 s
MAX_WAIT = 3600.0  # the wait stops growing at an hour
GIVE_UP = timedelta(hours=24)  # then the delivery is dead, listed for the admins


def backoff(attempts: int, rng: Callable[[], float] = random.random) -> float:
    """Seconds before retry number `attempts`: doubling from 15 s, capped at an hour, times 1 to 2 (jitter)."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), MAX_WAIT) * (1 + rng())


def _claim(now: datetime, limit: int, in_app: bool) -> list[Delivery]:
    query = (
        select(Delivery)
        .where(
            Delivery.state.in_(DUE_STATES),
            Delivery.next_attempt_at <= now,
            (Delivery.channel == Channel.APP.value) if in_app else (Delivery.channel != Channel.APP.value),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        # what sending reads, loaded with the batch (not two statements per delivery)
        .options(
            selectinload(Delivery.notification).selectinload(Notification.report),
            selectinload(Delivery.notification).selectinload(Notification.department),
        )
    )
    if db.session.get_bind().dialect.name == "postgresql":
        # Several workers share the work: a row one of them holds is skipped by the others.
        query = query.with_for_update(skip_locked=True, of=Delivery)
    return list(db.session.scalars(query))


def deliver_due(now: datetime | None = None, *, limit: int = 100, stopping: Callable[[], bool] = lambda: False) -> int:
    """Send the deliveries that are due (up to `limit` of each kind) and commit; returns how many were tried.

    The bell's deliveries go first, in a commit of their own, so they never wait behind outside channels.
    In-app deliveries are exactly once: marking one sent and showing its notification commit together.
    Outside channels are at least once: a worker killed after sending and before committing sends again,
    with the same delivery key."""
    # Outside channels in smaller batches: their rows stay claimed (locked on PostgreSQL) until the batch commits.
    return sum(_deliver_batch(now, n, stopping, in_app) for in_app, n in ((True, limit), (False, max(1, limit // 5))))


def _deliver_batch(now: datetime | None, limit: int, stopping: Callable[[], bool], in_app: bool) -> int:
    clock = (lambda: now) if now is not None else utcnow  # a given moment (tests, the CLI), else the real time
    now = now or utcnow()
    rows = _claim(now, limit, in_app)
    if not rows:
        db.session.rollback()
        return 0
    context = _Context()
    tried = 0
    # Nothing is written until the batch is done, so SQLite's write lock is not held while sending (on
    # PostgreSQL the claimed rows stay locked until the commit: that keeps the other workers off them).
    with db.session.no_autoflush:
        for d in rows:
            if stopping():
                break
            tried += 1
            try:
                _send(d, context)
            except DeliveryFailed as err:
                _failed(d, err, now)
            except Exception as err:  # a bug or an unexpected answer must not stop the other deliveries
                log.exception("delivery %s failed", d.id)
                _failed(d, DeliveryFailed(f"{type(err).__name__}: {err}"), now)
            else:
                d.state, d.sent_at, d.last_error = DeliveryState.SENT.value, clock(), ""
                d.attempts += 1
    if in_app:  # shown in the bell from the moment the batch commits
        shown = clock()
        for d in rows[:tried]:
            if d.state == DeliveryState.SENT.value:
                d.notification.delivered_at = shown
    db.session.commit()
    return tried


def _failed(d: Delivery, err: DeliveryFailed, now: datetime) -> None:
    d.attempts += 1
    d.last_error = (err.reason or str(err))[:300]
    wait = max(backoff(d.attempts), err.retry_after or 0)
    if err.permanent or now + timedelta(seconds=wait) > d.created_at + GIVE_UP:
        d.state, d.next_attempt_at = DeliveryState.DEAD.value, now  # when it died: the admins' notice counts from it
        log.warning("delivery %s is dead after %s attempts: %s", d.id, d.attempts, d.last_error)
    else:
        d.state, d.next_attempt_at = DeliveryState.FAILED.value, now + timedelta(seconds=wait)


class _Context:
    """What a batch looks up once: categories, the SMS provider, the words outside messages use."""

    def __init__(self):
        self.categories = {c.code: c for c in db.session.scalars(select(Category))}
        self._sms = None
        self._words = None
        self.locale = current_app.config["BABEL_DEFAULT_LOCALE"]

    @property
    def words(self) -> dict:
        """Robot labels, link text and priority names in the county's language, translated once a batch."""
        if self._words is None:
            from flask_babel import force_locale
            from flask_babel import gettext as _

            from app.triage.workflow import PRIORITY_LABELS

            with force_locale(self.locale):
                self._words = {
                    "labels": {
                        "reference": _("Reference"),
                        "category": _("Category"),
                        "place": _("Place"),
                        "priority": _("Priority"),
                        "deadline": _("Deadline"),
                    },
                    "link": _("View details"),
                    "priority": {key: str(label) for key, label in PRIORITY_LABELS.items()},
                }
        return self._words

    @property
    def sms(self):
        if self._sms is None:
            from app.sms import sms_provider

            self._sms = sms_provider(current_app.config)
        return self._sms


def report_url(n: Notification) -> str:
    base = (current_app.config.get("BASE_URL") or "http://localhost:5000").rstrip("/")
    return f"{base}/reports/{n.report_id}" if n.report_id else f"{base}/notifications"


def _send(d: Delivery, context: _Context) -> None:
    n = d.notification
    if d.channel == Channel.APP:
        return  # shown in the bell once committed
    title, body = render(n.kind, n.params, context.locale, context.categories)
    if d.channel == Channel.EMAIL:
        user = db.session.get(User, n.user_id)
        if not user or not user.email:
            raise DeliveryFailed("no email address", permanent=True)
        msg = EmailMessage()
        msg["Subject"], msg["From"], msg["To"] = title, current_app.config["SMTP_SENDER"], user.email
        msg["Date"], msg["Message-ID"] = formatdate(localtime=False), make_msgid(domain="gridsnap")
        msg["X-GridSnap-Delivery"] = d.key
        url = report_url(n)
        msg.set_content(f"{body}\n\n{url}\n")
        from markupsafe import escape

        msg.add_alternative(f'<p>{escape(body)}</p><p><a href="{escape(url)}">{escape(url)}</a></p>', subtype="html")
        try:
            send_mail(current_app.config, [msg])
        except OSError as err:
            raise DeliveryFailed(f"SMTP: {err}") from err
    elif d.channel == Channel.SMS:
        user = db.session.get(User, n.user_id)
        if not user or not user.phone:
            raise DeliveryFailed("no phone number", permanent=True)
        from app.notify.outbox import SMS_KINDS
        from app.sms import normalise_phone

        try:
            phone = normalise_phone(user.phone)
        except ValueError as err:
            raise DeliveryFailed(str(err), permanent=True) from err
        facts = _facts(n, context)
        context.sms.send(
            phone,
            SMS_KINDS.get(n.kind, n.kind),
            {
                "ref": facts["reference"],
                "category": facts["category"],
                "place": facts["place"],
                "deadline": facts["deadline"],
            },
            key=d.key,
        )
    elif d.channel == Channel.ROBOT:
        dept = n.department
        if not dept or not dept.webhook_url:
            raise DeliveryFailed("the department has no webhook", permanent=True)
        facts, labels = _facts(n, context), context.words["labels"]
        lines = [(str(labels[k]), str(v)) for k, v in facts.items() if v and k in labels]
        send_to_robot(
            dept.webhook_kind or "generic",
            dept.webhook_url,
            dept.webhook_secret,
            RobotMessage(
                title=title,
                lines=lines,
                url=report_url(n),
                key=d.key,
                kind=n.kind,
                link_text=context.words["link"],
                language=str(context.locale),
            ),
        )
    else:
        raise DeliveryFailed(f"unknown channel {d.channel}", permanent=True)


def _facts(n: Notification, context: _Context) -> dict[str, str]:
    """What an outside message names: reference, category, place, priority, deadline (local time)."""
    from app.reports.places import place_of

    report = n.report
    if report is None:
        return {"reference": "", "category": "", "place": "", "priority": "", "deadline": ""}
    cat = context.categories.get(n.params.get("category") or "") or report.category
    due = report.due_at
    priority = context.words["priority"].get(report.priority, report.priority or "")
    return {
        "reference": report.reference or "",
        "category": cat.name(context.locale),
        "place": place_of(report, context.locale),
        "priority": priority,
        "deadline": due.astimezone(_zone()).strftime("%Y-%m-%d %H:%M") if due else "",
    }


def _zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo(current_app.config["TIMEZONE"])


def retry(delivery_ids: list[int] | None, now: datetime | None = None) -> int:
    """Put dead deliveries (these, or with None all of them) back in the queue, as new: the admin's retry
    button. One UPDATE; the caller commits."""
    now = now or utcnow()
    query = update(Delivery).where(Delivery.state == DeliveryState.DEAD.value)
    if delivery_ids is not None:
        query = query.where(Delivery.id.in_(delivery_ids))
    values = {"state": DeliveryState.PENDING.value, "next_attempt_at": now, "created_at": now, "attempts": 0}
    return db.session.execute(query.values(**values).execution_options(synchronize_session=False)).rowcount
