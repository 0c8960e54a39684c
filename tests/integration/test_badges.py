"""Badges: first report, first hazard found, 10 fixed, 50 fixed, a month with a report every week."""

from datetime import UTC, datetime, timedelta

from flask_babel import force_locale
from sqlalchemy import select

from app.extensions import db
from app.models import Category, Report, ReportEvent
from app.reports.geo import cell_of
from app.teams.badges import BADGES, badges_for
from tests import factories as f

# Monday 2 November 2026, 10:00 in Shanghai.
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
LAT, LON = f.QIANWEI


def bare_report(user, when, category="illegal_parking", moves=()):
    """A report row (no photos: badges only read rows and events) with its timeline."""
    cat = db.session.scalar(select(Category).where(Category.code == category))
    r = Report(
        user_id=user.id,
        category_id=cat.id,
        lat=LAT,
        lon=LON,
        cell=cell_of(LAT, LON),
        created_at=when,
        captured_at=when,
        updated_at=when,
    )
    db.session.add(r)
    db.session.flush()
    db.session.add(ReportEvent(report_id=r.id, kind="submitted", to_status="submitted", created_at=when))
    prev = "submitted"
    for i, (status, details) in enumerate(moves, start=1):
        db.session.add(
            ReportEvent(
                report_id=r.id,
                kind="transition",
                from_status=prev,
                to_status=status,
                created_at=when + timedelta(hours=i),
                details=details,
            )
        )
        prev = status
    r.status = prev
    r.outcome = (moves[-1][1] or {}).get("outcome") if moves and prev == "closed" else None
    db.session.commit()
    return r


FIXED = [("accepted", {}), ("assigned", {}), ("resolved", {}), ("closed", {"outcome": "fixed"})]


def codes(user):
    return [b.code for b in badges_for(user.id)]


def test_first_report_needs_a_report_that_was_not_rejected_or_duplicate(app):
    rider = f.make_user("r1")
    bare_report(rider, T0, moves=[("rejected", {})])
    bare_report(rider, T0 + timedelta(days=1), moves=[("duplicate", {})])
    assert codes(rider) == []
    later = bare_report(rider, T0 + timedelta(days=2))
    [badge] = badges_for(rider.id)
    assert (badge.code, badge.earned_at) == ("first_report", later.created_at)


def test_first_hazard_is_earned_when_a_hazard_report_is_accepted(app):
    rider = f.make_user("r1")
    bare_report(rider, T0, category="manhole_missing")
    assert "first_hazard" not in codes(rider)  # filed, not yet accepted
    bare_report(rider, T0 + timedelta(days=1), category="illegal_parking", moves=[("accepted", {})])
    assert "first_hazard" not in codes(rider)  # accepted, but not a hazard
    hazard = bare_report(rider, T0 + timedelta(days=2), category="fire_lane_blocked", moves=[("accepted", {})])
    badge = next(b for b in badges_for(rider.id) if b.code == "first_hazard")
    assert badge.earned_at == hazard.created_at + timedelta(hours=1)


def test_ten_and_fifty_fixed_count_only_reports_closed_as_fixed(app):
    rider = f.make_user("r1")
    for i in range(9):
        bare_report(rider, T0 + timedelta(days=i), moves=FIXED)
    bare_report(rider, T0 + timedelta(days=9), moves=FIXED[:3] + [("closed", {"outcome": "unable_to_fix"})])
    assert "fixed_10" not in codes(rider)
    tenth = bare_report(rider, T0 + timedelta(days=10), moves=FIXED)
    badge = next(b for b in badges_for(rider.id) if b.code == "fixed_10")
    assert badge.earned_at == tenth.created_at + timedelta(hours=4)
    for i in range(39):
        bare_report(rider, T0 + timedelta(days=11 + i), moves=FIXED)
    assert "fixed_50" not in codes(rider)  # 49 fixed
    bare_report(rider, T0 + timedelta(days=60), moves=FIXED)
    assert {"fixed_10", "fixed_50"} <= set(codes(rider))


def test_steady_month_needs_a_report_in_each_week_of_one_month(app):
    rider = f.make_user("r1")
    # Days 2, 9 and 16 of November, then 23 December: three weeks of one month, one of another.
    for day in (0, 7, 14):
        bare_report(rider, T0 + timedelta(days=day))
    bare_report(rider, T0 + timedelta(days=51))
    assert "steady_month" not in codes(rider)
    # A rejected report in the last week does not count either.
    bare_report(rider, T0 + timedelta(days=21), moves=[("rejected", {})])
    assert "steady_month" not in codes(rider)
    last = bare_report(rider, T0 + timedelta(days=28))  # 30 November: the fourth week (days 22 to the end)
    badge = next(b for b in badges_for(rider.id) if b.code == "steady_month")
    assert badge.earned_at == last.created_at


def test_profile_states_every_badge_rule(app, client):
    rider = f.make_user("r1")
    bare_report(rider, T0)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    f.log_in(client, "r1")
    page = client.get("/me/points").get_data(as_text=True)
    with force_locale("en"):
        for title, rule in BADGES.values():
            assert str(title) in page and str(rule) in page
