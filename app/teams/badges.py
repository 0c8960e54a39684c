"""Badges, each with one clear rule over the rider's own reports (derived on demand, never stored).

- first_report: filed a report that was not rejected or marked duplicate;
- first_hazard: a report in a hazard category was accepted (and is not now rejected or duplicate);
- fixed_10 / fixed_50: 10 / 50 own reports closed as fixed;
- steady_month: a calendar month (local time) with a report filed in each of its weeks
  (days 1-7, 8-14, 15-21 and 22 to the month's end), counting reports not rejected or duplicate.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.extensions import db
from app.i18n import local_zone
from app.models import Category, Report, ReportEvent
from app.triage.workflow import Status


def N_(text: str) -> str:
    """Mark a msgid for the catalog without translating it here."""
    return text


TEXTS = {  # (title, rule) as msgids: a notification stores them and shows them in its reader's language
    "first_report": (N_("First report"), N_("File a report that is not rejected or marked as a duplicate.")),
    "first_hazard": (
        N_("Hazard spotter"),
        N_("Have a report in a safety-hazard category (lift, fire lane, manhole…) accepted."),
    ),
    "fixed_10": (N_("10 fixed"), N_("Have 10 of your reports closed as fixed.")),
    "fixed_50": (N_("50 fixed"), N_("Have 50 of your reports closed as fixed.")),
    "steady_month": (
        N_("Steady month"),
        N_("File a report in each week of one calendar month (days 1–7, 8–14, 15–21 and 22 to the end)."),
    ),
}
BADGES = {code: (_l(title), _l(rule)) for code, (title, rule) in TEXTS.items()}
NOT_COUNTED = (Status.REJECTED, Status.DUPLICATE)


@dataclass(frozen=True)
class Badge:
    """A badge a rider holds, and when they earned it."""

    code: str
    earned_at: datetime | date

    @property
    def title(self) -> str:
        return str(BADGES[self.code][0])

    @property
    def rule(self) -> str:
        return str(BADGES[self.code][1])

    @property
    def title_msgid(self) -> str:
        """The title untranslated (a notification stores it and shows it in its reader's language)."""
        return TEXTS[self.code][0]

    @property
    def rule_msgid(self) -> str:
        return TEXTS[self.code][1]


def _week_of_month(day: date) -> int:
    return min((day.day - 1) // 7, 3)


def badges_for(user_id: int) -> list[Badge]:
    """The badges this user holds, in the order they were earned."""
    rows = db.session.execute(
        select(Report.id, Report.status, Report.created_at, Report.fixed_clause().label("fixed"), Category.hazard)
        .join(Category, Category.id == Report.category_id)
        .where(Report.user_id == user_id)
        .order_by(Report.created_at, Report.id)
    ).all()
    counted = [r for r in rows if r.status not in NOT_COUNTED]
    out: list[Badge] = []
    if counted:
        out.append(Badge("first_report", counted[0].created_at))
    hazard_ids = [r.id for r in counted if r.hazard]
    if hazard_ids:
        first_accept: datetime | None = db.session.scalar(
            select(ReportEvent.created_at)
            .where(
                ReportEvent.report_id.in_(hazard_ids),
                ReportEvent.to_status == Status.ACCEPTED,
                ReportEvent.kind == "transition",
            )
            .order_by(ReportEvent.created_at)
            .limit(1)
        )
        if first_accept is not None:
            out.append(Badge("first_hazard", first_accept))
    fixed_ids = [r.id for r in rows if r.fixed]
    if len(fixed_ids) >= 10:
        # The latest close of each report counts; its n-th fixed report earned the badge.
        per_report = {}
        for rid, at in db.session.execute(
            select(ReportEvent.report_id, ReportEvent.created_at).where(
                ReportEvent.report_id.in_(fixed_ids),
                ReportEvent.to_status == Status.CLOSED,
                ReportEvent.kind == "transition",
            )
        ):  # not a later comment on the closed report
            per_report[rid] = max(at, per_report.get(rid, at))
        closes = sorted(per_report.values())
        for n, code in ((10, "fixed_10"), (50, "fixed_50")):
            if len(closes) >= n:
                out.append(Badge(code, closes[n - 1]))
    weeks: dict[tuple[int, int], set[int]] = defaultdict(set)
    zone = local_zone()
    for r in counted:
        day = r.created_at.astimezone(zone).date()
        weeks[(day.year, day.month)].add(_week_of_month(day))
        if len(weeks[(day.year, day.month)]) == 4:
            out.append(Badge("steady_month", r.created_at))
            break
    return sorted(out, key=lambda b: b.earned_at)


def reports_by_status(user_id: int) -> dict[str, int]:
    """How many of the user's reports are in each status."""
    return dict(
        db.session.execute(
            select(Report.status, func.count()).where(Report.user_id == user_id).group_by(Report.status)
        ).all()
    )


# How far along a rider is towards each badge: what counts and how much it takes.
GOALS = {"first_report": 1, "first_hazard": 1, "fixed_10": 10, "fixed_50": 50, "steady_month": 4}


def progress_for(user_id: int, held: list[Badge]) -> dict[str, tuple[int, int]]:
    """(done, needed) for each badge not yet held, e.g. (7, 10) for fixed_10: shown as "7 / 10"."""
    rows = db.session.execute(
        select(Report.status, Report.created_at, Report.fixed_clause().label("fixed")).where(Report.user_id == user_id)
    ).all()
    counted = [r for r in rows if r.status not in NOT_COUNTED]
    fixed = sum(1 for r in rows if r.fixed)
    weeks: dict[tuple[int, int], set[int]] = defaultdict(set)
    zone = local_zone()
    for r in counted:
        day = r.created_at.astimezone(zone).date()
        weeks[(day.year, day.month)].add(_week_of_month(day))
    done = {
        "first_report": min(len(counted), 1),
        "first_hazard": 0,  # not held: no hazard report accepted yet
        "fixed_10": fixed,
        "fixed_50": fixed,
        "steady_month": max((len(w) for w in weeks.values()), default=0),
    }
    have = {b.code for b in held}
    return {code: (min(done[code], need), need) for code, need in GOALS.items() if code not in have}
