"""The archive of published weeks: a completed week's summary computed once and frozen (versions kept),
read back for the page, JSON, CSV and email, and its late changes counted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from importlib import metadata
from types import SimpleNamespace
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Text, cast, func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from app.database import snapshot
from app.errors import DomainError, NotFound, ValidationFailed
from app.extensions import db
from app.i18n import local_zone
from app.models import User, utcnow
from app.summaries.backlog_walk import BacklogWalk
from app.summaries.models import PublishedSummary, ReportCorrection
from app.summaries.services import HEADLINE, WeeklySummary, _summary, resolve_week, weekly_summary
from app.summaries.weeks import Week, last_complete_week, parse_week
from app.triage.workflow import Status

P = PublishedSummary
# The figures kept per category, grid and department for the trends (and shown side by side on recompute).
GROUP_FIGURES = (
    "received",
    Status.ACCEPTED.value,
    Status.RESOLVED.value,
    Status.CLOSED.value,
    "open_at_end",
    "overdue_at_end",
)
GROUPINGS = {"category": "by_category", "grid": "by_grid", "department": "by_department"}


class WeekNotOver(DomainError):
    status, code = 409, "week_not_over"


class PublishedMeanwhile(DomainError):
    status, code = 409, "published_meanwhile"


def code_version() -> str:
    """The package version and the database's schema revision: what computed a published record."""
    try:
        version = metadata.version("gridsnap")
    except metadata.PackageNotFoundError:
        version = "unknown"
    bind = db.session.connection()
    revision = (
        bind.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if inspect(bind).has_table("alembic_version")
        else None
    )
    return f"gridsnap {version}" + (f", schema {revision}" if revision else "")


def extracts(data: dict[str, Any], s: WeeklySummary | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The headline figures and the per-group figures of a summary's data (what sparklines and trends read)."""
    headline = (s or WeeklySummary.from_dict(data)).headline()
    groups: dict[str, Any] = {}
    for name, attr in GROUPINGS.items():
        groups[name] = {
            (g["code"] or ""): {"zh": g["name_zh"], "en": g["name_en"], **{k: g[k] for k in GROUP_FIGURES}}
            for g in data[attr]
        }
    return headline, groups


def published(week: str) -> PublishedSummary | None:
    """The version of a week served now (None: the week is not published); its documents load when read."""
    return db.session.scalar(
        select(P).options(defer(P.data), defer(P.groups), defer(P.headline)).where(P.current.is_(True), P.week == week)
    )


def data_text(record: PublishedSummary) -> str:
    """The published data as stored (JSON text), served as it is without decoding it."""
    return db.session.scalar(select(cast(P.data, Text)).where(P.id == record.id))


def archive_mark() -> int:
    """Grows with every publication: what the sparklines and the same week last year of a page depend on."""
    return db.session.scalar(select(func.max(P.id))) or 0


def published_weeks(weeks: list[str]) -> dict[str, datetime]:
    """When each of these weeks was published (the version served), for the list of weeks."""
    return dict(db.session.execute(select(P.week, P.published_at).where(P.current.is_(True), P.week.in_(weeks))).all())


def versions(week: str) -> list[PublishedSummary]:
    """Every published version of a week, the first first."""
    return list(db.session.scalars(select(P).where(P.week == week).order_by(P.version)))


def version_of(week: str, number: int) -> PublishedSummary:
    found = db.session.scalar(select(P).where(P.week == week, P.version == number))
    if found is None:
        raise NotFound(_l("No version %(n)s of %(week)s was published.", n=number, week=week), code="no_such_version")
    return found


def page_facts(record: PublishedSummary) -> SimpleNamespace:
    """What a published week's page shows around its frozen body: the week and its neighbours."""
    wk = parse_week(record.week, local_zone())
    following = wk.shifted(1)
    return SimpleNamespace(
        week=wk.name,
        previous_week=wk.shifted(-1).name,
        next_week=following.name if following.start <= utcnow() else None,
    )


def summary_of(record: PublishedSummary) -> WeeklySummary:
    """The published summary, to render as the page, CSV or email."""
    return WeeklySummary.from_dict(record.data)


def publish(
    name: str | None,
    now: datetime | None = None,
    *,
    actor: User | None = None,
    again: bool = False,
    walk: BacklogWalk | None = None,
) -> tuple[PublishedSummary, bool]:
    """Publish a complete week (default: the last one): its summary computed once and stored with the moment,
    the code version and the last correction it saw. Already published: that record, unless `again` (an
    admin's republish), which adds a version and keeps the earlier. A back-fill passes its BacklogWalk (the
    backlog carried from week to week). Returns (record, whether it is new)."""
    now = now or utcnow()
    wk = resolve_week(name, now)
    if wk.end.astimezone(UTC) > now:
        raise WeekNotOver(_l("The week %(name)s has not ended: only complete weeks are published.", name=wk.name))
    current = published(wk.name)
    if current is not None and not again:
        return current, False
    with snapshot():  # the figures and the correction mark from one view of the database
        summary = _summary(wk, now, 10, 5, walk=walk)
        mark = db.session.scalar(select(func.max(ReportCorrection.id))) or 0
    data = summary.to_dict()
    headline, groups = extracts(data, summary)
    number = (db.session.scalar(select(func.max(P.version)).where(P.week == wk.name)) or 0) + 1
    record = P(
        week=wk.name,
        version=number,
        current=True,
        published_at=now,
        published_by_id=actor.id if actor is not None else None,
        code_version=code_version(),
        correction_mark=mark,
        data=data,
        headline=headline,
        groups=groups,
    )
    try:
        with db.session.begin_nested():
            if current is not None:
                current.current = False
            db.session.add(record)
            db.session.flush()
    except IntegrityError:
        raise PublishedMeanwhile(
            _l("%(week)s was published by someone else meanwhile. Reload the page.", week=wk.name)
        ) from None
    return record, True


def backfill(weeks: list[Week], now: datetime | None = None):
    """Publish these complete weeks, oldest first, committing each (stopped, a back-fill resumes where it
    was); yields each record. The backlog is carried from week to week (BacklogWalk)."""
    now = now or utcnow()
    walk = None
    for wk in sorted(weeks, key=lambda w: w.start):
        if walk is None:
            with snapshot():
                walk = BacklogWalk(wk.shifted(-1).end.astimezone(UTC), now)
        record, _created = publish(wk.name, now, walk=walk)
        db.session.commit()
        yield record


def unpublished_weeks(since: str, until: str | None = None, now: datetime | None = None) -> list[Week]:
    """The complete weeks from `since` to `until` (default: the last complete one) not yet published, oldest
    first: what a back-fill still has to do (run it again after a stop and it goes on where it was)."""
    now = now or utcnow()
    zone = local_zone()
    first = parse_week(since, zone, now)
    last = parse_week(until, zone, now) if until else last_complete_week(zone, now)
    if last.end.astimezone(UTC) > now:
        last = last_complete_week(zone, now)
    if first.start > last.start:
        return []
    done = set(db.session.scalars(select(P.week).where(P.current.is_(True), P.week >= first.name, P.week <= last.name)))
    return [wk for wk in iter_weeks(first, last) if wk.name not in done]


def late_changes(record: PublishedSummary) -> int:
    """Reports filed by the week's end whose category or place changed after this record was computed: each
    may have moved a figure of the week (received, moved in it, or open at its end). Read from the
    corrections after the record's mark only, a handful of index entries."""
    wk = parse_week(record.week, local_zone())
    C = ReportCorrection
    return (
        db.session.scalar(
            select(func.count(func.distinct(C.report_id))).where(
                C.id > record.correction_mark, C.filed_at < wk.end.astimezone(UTC)
            )
        )
        or 0
    )


def headline_series(wk: Week, live: WeeklySummary | None = None, weeks: int = 12) -> dict[str, Any]:
    """The headline figures of the `weeks` weeks up to this one from the archive (None where a week is not
    published; the live figures for this week when given), and the same week a year before."""
    names = [wk.shifted(-i).name for i in range(weeks - 1, -1, -1)]
    last_year = same_week_last_year(wk)
    wanted = [*names, last_year] if last_year else names
    rows = dict(db.session.execute(select(P.week, P.headline).where(P.current.is_(True), P.week.in_(wanted))).all())
    if live is not None:
        rows[wk.name] = live.headline()
    series = {k: [rows[n].get(k) if n in rows else None for n in names] for k in HEADLINE}
    return {
        "weeks": names,
        "series": series,
        "sparklines": {k: sparkline(v) for k, v in series.items()},
        "last_year": {"week": last_year, "headline": rows.get(last_year)} if last_year else None,
    }


def sparkline(values: list[float | None], width: float = 120, height: float = 28) -> str:
    """SVG polyline points for a small line (weeks without a figure skipped); "" when fewer than two."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(known) < 2:
        return ""
    low, high = min(v for _i, v in known), max(v for _i, v in known)
    step = width / max(1, len(values) - 1)
    span = (high - low) or 1
    return " ".join(f"{round(i * step, 1)},{round(2 + (height - 4) * (1 - (v - low) / span), 1)}" for i, v in known)


def same_week_last_year(wk: Week) -> str | None:
    """The week with the same number a year before (None when that year has no such week, e.g. W53)."""
    try:
        date.fromisocalendar(wk.year - 1, wk.number, 1)
    except ValueError:
        return None
    return f"{wk.year - 1:04d}-W{wk.number:02d}"


def compare(published_data: dict[str, Any], live: WeeklySummary) -> dict[str, Any]:
    """The published figures beside the live ones: the headline, then per category, grid and department."""
    pub_headline, pub_groups = extracts(published_data)
    live_headline, live_groups = extracts(live.to_dict())
    headline = [{"key": k, "published": pub_headline.get(k), "live": live_headline.get(k)} for k in HEADLINE]
    for row in headline:
        row["differs"] = row["published"] != row["live"]
    sections = {}
    for name in GROUPINGS:
        a, b = pub_groups[name], live_groups[name]
        rows = []
        for code in sorted(a.keys() | b.keys()):
            pa, lb = a.get(code), b.get(code)
            names = pa or lb
            figures = [
                {
                    "key": k,
                    "published": pa[k] if pa else 0,
                    "live": lb[k] if lb else 0,
                }
                for k in GROUP_FIGURES
            ]
            for fig in figures:
                fig["differs"] = fig["published"] != fig["live"]
            rows.append(
                {
                    "code": code,
                    "zh": names["zh"],
                    "en": names["en"],
                    "figures": figures,
                    "differs": any(f["differs"] for f in figures) or (pa and lb and pa["zh"] != lb["zh"]),
                }
            )
        sections[name] = rows
    return {"headline": headline, "groups": sections, "differences": _count_differences(headline, sections)}


def _count_differences(headline, sections) -> int:
    return sum(1 for r in headline if r["differs"]) + sum(1 for rows in sections.values() for r in rows if r["differs"])


def summary_for(name: str | None) -> tuple[WeeklySummary, PublishedSummary | None]:
    """What to show for a week: its published record when it has one, else the figures computed now."""
    wk = resolve_week(name)
    record = published(wk.name)
    if record is not None:
        return summary_of(record), record
    return weekly_summary(wk.name), None


def iter_weeks(first: Week, last: Week) -> Iterator[Week]:
    """The weeks from first to last, both included."""
    wk = first
    while wk.start <= last.start:
        yield wk
        wk = wk.shifted(1)


def check_range(first: Week, last: Week, most: int) -> None:
    if first.start > last.start:
        raise ValidationFailed(_l("The first week must not come after the last."), code="invalid_range")
    if sum(1 for _w in iter_weeks(first, last)) > most:
        raise ValidationFailed(_l("Choose at most %(n)s weeks (two years).", n=most), code="range_too_long")
