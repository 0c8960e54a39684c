"""The worker's jobs once a minute: escalation, telling the admins of deliveries that gave up, and once a
week (the first pass after Monday 00:00 local) announcing the week's end."""

import logging
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import text

from app import hooks
from app.extensions import db
from app.i18n import local_zone
from app.models import Role, User, utcnow

log = logging.getLogger("gridsnap.worker")


PERIODIC_LOCK = 7_243_001  # PostgreSQL advisory lock: one worker at a time runs the periodic jobs


def only_one_worker() -> bool:
    """True when this worker may run the periodic jobs in the current transaction. On PostgreSQL several
    workers share the outbox, so they take turns through a transaction-scoped advisory lock; on SQLite
    there is one worker."""
    if db.session.get_bind().dialect.name != "postgresql":
        return True
    return bool(db.session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": PERIODIC_LOCK}))


def every_minute() -> None:
    """One escalation pass and the dead-delivery notice, each committed on its own (by one worker)."""
    from app.notify.escalation import run_pass

    if only_one_worker():
        done = run_pass(utcnow())
        if done:
            log.info("escalated %d report deadlines", len(done))
    db.session.commit()
    if only_one_worker():
        tell_admins_of_dead_deliveries()
    db.session.commit()
    if only_one_worker():
        week_ended()
    db.session.commit()


WEEK_MARK = "week_ended"


def week_ended(now=None) -> bool:
    """Once a week: the first pass after Monday 00:00 local emits hooks.WEEK_ENDED (the summaries publish the
    week that ended and email its digest). The job mark, written in the same transaction, makes it once
    whatever the number of workers (they take turns through only_one_worker's lock); True when it ran."""
    from app.notify.models import JobMark

    now = now or utcnow()
    zone = local_zone()
    local = now.astimezone(zone)
    monday = datetime.combine(local.date() - timedelta(days=local.weekday()), time(0), tzinfo=zone).astimezone(UTC)
    mark = db.session.get(JobMark, WEEK_MARK)
    if mark is not None and mark.ran_until >= monday:
        return False
    if mark is None:
        db.session.add(JobMark(name=WEEK_MARK, ran_until=now))
    else:
        mark.ran_until = now
    db.session.flush()
    hooks.emit(hooks.WEEK_ENDED, now)
    log.info("week ended: announced at %s", now.isoformat())
    return True


def tell_admins_of_dead_deliveries(now=None) -> int:
    """Notify the admins (in the app) of deliveries that died since the last notice; returns how many."""
    from sqlalchemy import func, select

    from app.notify.messages import Kind
    from app.notify.models import Delivery, DeliveryState, JobMark
    from app.notify.outbox import notify

    now = now or utcnow()
    mark = db.session.get(JobMark, "dead_notice")
    since = mark.ran_until if mark else None
    query = (
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.state == DeliveryState.DEAD.value, Delivery.next_attempt_at <= now)
    )
    if since is not None:
        query = query.where(Delivery.next_attempt_at > since)
    count = db.session.scalar(query) or 0
    if count:
        admins = db.session.scalars(select(User).where(User.role == Role.ADMIN, User.active.is_(True))).all()
        notify(Kind.DEAD_DELIVERIES, users=admins, params={"count": count}, now=now)
    if mark is None:
        db.session.add(JobMark(name="dead_notice", ran_until=now))
    else:
        mark.ran_until = now
    return count
