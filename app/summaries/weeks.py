"""ISO weeks in the local time zone: names like 2026-W48 and their bounds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from app.errors import NotFound, ValidationFailed

WEEK_NAME = re.compile(r"^(\d{4})-W(\d{2})\Z", re.ASCII)
FIRST_YEAR = 1900


@dataclass(frozen=True)
class Week:
    """One ISO week: Monday 00:00 to the next Monday 00:00 in the local zone."""

    year: int
    number: int
    zone: ZoneInfo

    @property
    def name(self) -> str:
        return f"{self.year:04d}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def start(self) -> datetime:
        """Monday 00:00 local, timezone-aware."""
        return datetime.combine(self.monday, time(0), tzinfo=self.zone)

    @property
    def end(self) -> datetime:
        """The next Monday 00:00 local (exclusive)."""
        return datetime.combine(self.monday + timedelta(days=7), time(0), tzinfo=self.zone)

    @property
    def days(self) -> list[date]:
        return [self.monday + timedelta(days=i) for i in range(7)]

    def shifted(self, weeks: int) -> Week:
        """The week `weeks` weeks later (negative: earlier)."""
        return week_of(self.start + timedelta(days=7 * weeks, hours=12), self.zone)

    def __str__(self) -> str:
        return self.name


def week_of(moment: datetime, zone: ZoneInfo) -> Week:
    """The week that contains this moment in the local zone."""
    year, number, _day = moment.astimezone(zone).isocalendar()
    return Week(year, number, zone)


def parse_week(name: str, zone: ZoneInfo, now: datetime | None = None) -> Week:
    """A week from its name; 400 for a malformed name, 404 for a week that does not exist or has not begun."""
    match = WEEK_NAME.match(name or "")
    if not match:
        raise ValidationFailed(
            _l("A week is named like 2026-W48 (year, W, two-digit week number)."), code="invalid_week"
        )
    year, number = int(match.group(1)), int(match.group(2))
    if year < FIRST_YEAR:  # year 1's weeks cannot be shifted to UTC or back a week: nothing to sum anyway
        raise NotFound(_l("There are no summaries before %(year)d.", year=FIRST_YEAR), code="no_such_week")
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError:
        raise NotFound(
            _l("The year %(year)s has no week %(week)s.", year=year, week=number), code="no_such_week"
        ) from None
    week = Week(year, number, zone)
    if week.start > (now or datetime.now(UTC)):
        raise NotFound(_l("The week %(name)s has not started yet.", name=week.name), code="future_week")
    return week


def last_complete_week(zone: ZoneInfo, now: datetime | None = None) -> Week:
    """The most recent week that has ended."""
    return week_of(now or datetime.now(UTC), zone).shifted(-1)
