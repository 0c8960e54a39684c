"""Telling riders what they earned: after a filing, a move or a look, the points each rider concerned gained
(after the daily cap) and the badges they now hold that this moment earned, announced with the EARNED hook (the
notifications feature listens; teams does not import it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from app import hooks
from app.extensions import db
from app.i18n import local_zone
from app.models import Report, ReportEvent, User
from app.reports.services import followers
from app.teams import badges, points
from app.triage.workflow import Outcome, Status

SAME_MOMENT = timedelta(seconds=1)  # an award dated at the move that caused it (the same `now`)


def _day_start(at: datetime) -> datetime:
    local = at.astimezone(local_zone())
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(at.tzinfo)


def gained(user_id: int, report_id: int, at: datetime) -> tuple[int, str | None]:
    """(points, why) the awards of this report dated at `at` added to the user's capped total of that local
    day; why is the award's kind (accepted, fixed, co_accepted, co_fixed, verified)."""
    day = points.awards(_day_start(at), at + SAME_MOMENT, [user_id])
    new = [a for a in day if a.report_id == report_id and abs(a.at - at) < SAME_MOMENT]
    if not new:
        return 0, None
    rest = [a for a in day if a not in new]
    delta = points.capped(day).get(user_id, 0) - points.capped(rest).get(user_id, 0)
    return delta, new[0].kind


def earned_badges(user_id: int, at: datetime) -> list[badges.Badge]:
    """The badges the user holds that were earned at this moment."""
    held = badges.badges_for(user_id)
    return [b for b in held if isinstance(b.earned_at, datetime) and abs(b.earned_at - at) < SAME_MOMENT]


def announce(user: User | None, report: Report, at: datetime) -> None:
    """Emit EARNED for one rider when this moment earned them points or a badge."""
    if user is None or not user.is_rider or not user.active:
        return
    delta, why = gained(user.id, report.id, at)
    new = earned_badges(user.id, at)
    if delta > 0 or new:
        hooks.emit(hooks.EARNED, user, report, delta, why, new)


def on_filed(report: Report) -> None:
    """A first report, a steady month: badges earned by filing."""
    announce(report.user, report, report.created_at)


def on_move(report: Report, event: ReportEvent) -> None:
    """The first acceptance and a close as fixed award points (and may complete a badge)."""
    accepted = event.to_status == Status.ACCEPTED.value and report.first_accepted_at == event.created_at
    fixed = event.to_status == Status.CLOSED.value and (event.details or {}).get("outcome") == Outcome.FIXED.value
    if accepted or fixed:
        for user in followers(report):
            announce(user, report, event.created_at)


def on_confirmed(report: Report, event: ReportEvent) -> None:
    """A passer-by's look earns them points."""
    if event.kind == "verification" and event.actor_id is not None:
        announce(db.session.get(User, event.actor_id), report, event.created_at)


def init_app(app) -> None:
    hooks.register(app, hooks.FILED, on_filed)
    hooks.register(app, hooks.MOVED, on_move)
    hooks.register(app, hooks.CONFIRMED, on_confirmed)
