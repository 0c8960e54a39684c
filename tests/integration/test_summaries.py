"""Weekly summary figures, checked against expectations worked out by hand for a known history.

The scenario is set in 2025-W48 (Mon 24 Nov to Sun 30 Nov 2025, Asia/Shanghai) and the week
before it. Every expected number below is derived in the comments from the reports' chosen
times, never from the service's own helpers.
"""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.extensions import db
from app.grids.models import Grid
from app.summaries.services import weekly_summary
from tests import factories as f
from tests.expectations import W48_MONDAY as MON
from tests.expectations import W48_NOW as NOW
from tests.expectations import w48_at as at

SQUARE = {"type": "Polygon", "coordinates": [[[103.9, 29.2], [103.91, 29.2], [103.91, 29.21], [103.9, 29.2]]]}


# ---- a known history -----------------------------------------------------------------------


@pytest.fixture
def scenario(app):
    """Eleven reports around 2025-W48; see the comments for what each one tests."""
    g1 = Grid(code="G01", name="玉津一网格", geometry=SQUARE)
    g2 = Grid(code="G02", name="玉津二网格", geometry=SQUARE)
    db.session.add_all([g1, g2])
    ra = f.make_user("ra", team="犍路先锋")
    rb = f.make_user("rb", team="小哥传声筒")
    rc = f.make_user("rc")
    from sqlalchemy import select

    from app.models import Department

    dept = {d.code: d.id for d in db.session.scalars(select(Department))}
    P, E = "illegal_parking", "elevator_hazard"  # deadlines 24 h / 168 h and 2 h / 24 h
    r = {}
    # 1: Sunday 23:59 local, the week before; never accepted: open and (from Mon 23:59) overdue
    r[1] = f.report_row(ra, P, at(-1, 23, 59), grid_id=g1.id)
    # 2: Monday 00:00 local, this week; accepted after 6 h; resolve deadline exactly at the week's end
    r[2] = f.history(f.report_row(ra, P, at(0, 0, 0), grid_id=g1.id), [("accepted", at(0, 6))])
    # 3: filed last Friday (hazard), accepted in 1 h, resolved this Tuesday after 96 h (late), closed fixed
    r[3] = f.history(
        f.report_row(ra, E, at(-3, 10), grid_id=g1.id),
        [
            ("accepted", at(-3, 11)),
            ("assigned", at(-3, 12)),
            ("resolved", at(1, 10)),
            ("closed", at(1, 12), {"outcome": "fixed"}),
        ],
    )
    # 4: filed and closed last week, reopened this Wednesday, still accepted: overdue (due this Monday 09:00).
    # Written raw: the triage service gives a reopened report a fresh deadline; this one (as reports reopened
    # before that rule) is still measured against its first.
    r[4] = f.raw_history(
        f.report_row(ra, P, at(-7, 9), grid_id=g2.id),
        [
            ("accepted", at(-7, 10)),
            ("assigned", at(-7, 11)),
            ("resolved", at(-6, 9)),
            ("closed", at(-6, 10), {"outcome": "fixed"}),
            ("accepted", at(2, 9)),
        ],
    )
    # 5: marked duplicate this week
    r[5] = f.history(f.report_row(ra, P, at(1, 8), grid_id=g2.id), [("duplicate", at(1, 9), {"duplicate_of": r[2].id})])
    # 6: hazard rejected this week
    r[6] = f.history(f.report_row(rb, E, at(1, 10), grid_id=g2.id), [("rejected", at(1, 15))])
    # 7: hazard accepted in 1 h, resolved after 30 h (late), closed as not our responsibility
    r[7] = f.history(
        f.report_row(rb, E, at(2, 8), grid_id=g2.id),
        [
            ("accepted", at(2, 9)),
            ("assigned", at(2, 10)),
            ("resolved", at(3, 14)),
            ("closed", at(3, 16), {"outcome": "not_responsible"}),
        ],
    )
    # 8: accepted after 30 h (late), resolved after 48 h (in time), left resolved
    r[8] = f.history(
        f.report_row(rb, P, at(2, 8), grid_id=g2.id),
        [("accepted", at(3, 14)), ("assigned", at(3, 15)), ("resolved", at(4, 8))],
    )
    # 9: Monday 00:00 of the next week: not this week's
    r[9] = f.report_row(rb, P, at(7, 0, 0))
    # 10: filed Thursday, still submitted at the end of the week (overdue), accepted next Monday
    r[10] = f.history(f.report_row(rc, P, at(3, 10), department_id=None), [("accepted", at(7, 9))])
    # 11: an old report, closed weeks ago
    r[11] = f.history(
        f.report_row(rc, P, at(-20, 9)),
        [
            ("accepted", at(-20, 10)),
            ("assigned", at(-20, 11)),
            ("resolved", at(-19, 9)),
            ("closed", at(-19, 10), {"outcome": "unable_to_fix"}),
        ],
    )
    return {"reports": r, "dept": dept}


def test_headline_figures_of_a_known_week(scenario):
    s = weekly_summary("2025-W48", now=NOW)
    assert (s.week, s.so_far) == ("2025-W48", False)
    assert s.start == at(0) and s.end == at(7)
    assert s.received == 6  # reports 2, 5, 6, 7, 8, 10 (not 1: Sunday 23:59; not 9: next Monday)
    assert s.accepted == 3  # 2, 7, 8 (4's acceptance is a reopening; 10's is next week)
    assert s.rejected == 1  # 6
    assert s.duplicates == 1  # 5
    assert s.resolved == 3  # 3 (filed last week), 7, 8
    assert s.closed == 2  # 3 fixed, 7 not responsible
    assert s.closed_by_outcome == {"fixed": 1, "not_responsible": 1, "unable_to_fix": 0}
    assert s.reopened == 1  # 4
    assert s.open_at_end == 5  # 1, 2, 4, 8 (resolved is open), 10 (submitted at the end)
    assert s.overdue_at_end == 3  # 1 (accept), 4 (resolve), 10 (accept); 2 is due exactly at the end
    assert (s.hours_to_accept.median, s.hours_to_accept.p90, s.hours_to_accept.count) == (6, 25.2, 3)
    assert (s.hours_to_resolve.median, s.hours_to_resolve.p90, s.hours_to_resolve.count) == (48, 86.4, 3)
    assert s.within_deadline_pct == {"accept": 66.7, "resolve": 33.3}  # 2 of 3 accepted, 1 of 3 resolved in time


def test_status_at_the_end_comes_from_history_not_current_status(scenario):
    before = weekly_summary("2025-W47", now=NOW)
    # At Monday 00:00 of W48: 1 submitted (due Monday 23:59: not yet overdue), 3 assigned (due Saturday:
    # overdue); 4 and 11 closed. Report 3 is closed now and 10 is accepted now; neither matters here.
    assert (before.open_at_end, before.overdue_at_end) == (2, 1)
    assert before.received == 3  # 1, 3, 4
    assert (before.accepted, before.resolved, before.closed) == (2, 1, 1)
    assert before.hours_to_accept.median == 1


def test_previous_week_and_change(scenario):
    s = weekly_summary("2025-W48", now=NOW)
    assert s.previous["week"] == "2025-W47"
    assert (s.previous["received"], s.previous["open_at_end"], s.previous["overdue_at_end"]) == (3, 2, 1)
    assert s.change["received"] == {"delta": 3, "pct": 100.0}
    assert s.change["open_at_end"] == {"delta": 3, "pct": 150.0}
    assert s.change["rejected"] == {"delta": 1, "pct": None}  # nothing to compare a share with


def test_breakdowns_by_category_grid_department_team(scenario):
    s = weekly_summary("2025-W48", now=NOW)
    cats = {g.code: g for g in s.by_category}
    park, lift = cats["illegal_parking"], cats["elevator_hazard"]
    assert (park.received, park.accepted, park.duplicates, park.resolved, park.reopened) == (4, 2, 1, 1, 1)
    assert (park.open_at_end, park.overdue_at_end) == (5, 3)
    assert (lift.received, lift.accepted, lift.rejected, lift.resolved, lift.closed) == (2, 1, 1, 2, 2)
    assert (lift.open_at_end, lift.overdue_at_end, lift.hours_to_resolve.median) == (0, 0, 63)  # (30+96)/2
    grids = {g.code: g for g in s.by_grid}
    assert (grids["G01"].received, grids["G01"].resolved, grids["G01"].open_at_end, grids["G01"].overdue_at_end) == (
        1,
        1,
        2,
        1,
    )
    assert (grids["G02"].received, grids["G02"].open_at_end, grids["G02"].overdue_at_end) == (4, 2, 1)
    assert (grids[None].name_en, grids[None].received, grids[None].open_at_end) == ("Outside all grids", 1, 1)
    depts = {g.code: g for g in s.by_department}
    assert (depts["traffic_police"].received, depts["traffic_police"].overdue_at_end) == (3, 2)
    assert (depts["market_supervision"].received, depts["market_supervision"].resolved) == (2, 2)
    assert (depts[None].received, depts[None].overdue_at_end) == (1, 1)
    teams = {g.code: g for g in s.by_team}
    assert (teams["犍路先锋"].received, teams["犍路先锋"].open_at_end) == (2, 3)  # 2, 5 / 1, 2, 4
    assert (teams["小哥传声筒"].received, teams["小哥传声筒"].resolved) == (3, 2)  # 6, 7, 8 / 7, 8
    assert teams[None].received == 1
    assert sum(g.received for g in s.by_category) == s.received == sum(g.received for g in s.by_team)
    rows = {(r["category"], r["grid"]): r for r in s.by_category_grid}
    assert rows[("illegal_parking", "G02")]["received"] == 2 and rows[("elevator_hazard", "G01")]["resolved"] == 1


def test_counts_per_day_use_local_dates(scenario):
    s = weekly_summary("2025-W48", now=NOW)
    per_day = {d["date"]: d for d in s.per_day}
    assert list(per_day) == [(MON + timedelta(days=i)).isoformat() for i in range(7)]
    assert per_day["2025-11-24"]["received"] == 1  # report 2 at Monday 00:00 (Sunday 16:00 UTC)
    assert per_day["2025-11-26"]["received"] == 2  # 7 and 8
    assert per_day["2025-11-27"]["resolved"] == 1  # 7
    assert sum(d["resolved"] for d in s.per_day) == 3


def test_narrative_in_both_languages_from_the_figures(scenario):
    s = weekly_summary("2025-W48", now=NOW)
    assert "filed 6 reports, 100% more than last week (3)" in s.narrative["en"]
    assert "上报6件" in s.narrative["zh"] and "增加100%" in s.narrative["zh"]
    assert "3 reports are overdue" in s.narrative["en"]
    assert "交警大队" in s.narrative["en"] and "交警大队" in s.narrative["zh"]


def test_current_week_is_so_far_with_backlog_as_of_now(scenario):
    now = at(3, 12)  # Thursday noon of 2025-W48
    s = weekly_summary("2025-W48", now=now)
    assert s.so_far and s.as_of == now
    # open now: 1, 2, 4 (reopened Wed), 7 (accepted, resolved only at 14:00), 8 (still submitted), 10 (filed 10:00)
    # overdue now: 1 (accept), 4 (resolve), 7 (resolve due Thu 08:00), 8 (accept due Thu 08:00)
    assert (s.open_at_end, s.overdue_at_end) == (6, 4)
    assert s.next_week is None


def test_default_week_is_the_last_complete_one(scenario):
    assert weekly_summary(None, now=NOW).week == "2025-W48"
    assert weekly_summary(None, now=at(6, 23, 59)).week == "2025-W47"


def test_top_volunteers_and_teams_by_points_of_the_week(scenario):
    s = weekly_summary("2025-W48", now=NOW)
    # Points in W48 (5 when first accepted, 10 more when closed as fixed, nothing for rejected or duplicate):
    # ra: report 2 accepted (5) + report 3 closed fixed (10) = 15; filed 2 and 5 this week; one fixed
    # rb: reports 7 and 8 accepted (5 + 5); 7 closed "not responsible" earns nothing; filed 6, 7, 8
    # rc: report 10 accepted only next week; filed 10 this week, so listed with 0 points
    assert [(v["name"], v["points"], v["reports"], v["fixed"]) for v in s.top_volunteers] == [
        ("ra", 15, 2, 1),
        ("rb", 10, 3, 0),
        ("rc", 0, 1, 0),
    ]
    assert [v["rank"] for v in s.top_volunteers] == [1, 2, 3]
    # Teams by points per active member; each team here has one member.
    assert [(t["name"], t["points"], t["reports"]) for t in s.top_teams] == [("犍路先锋", 15, 2), ("小哥传声筒", 10, 3)]


def test_hotspots_of_the_week_come_from_its_reports(scenario):
    s = weekly_summary("2025-W48", now=NOW)
    # Every scenario report is filed at the factory's default location, so this week's six form one cluster;
    # parking is the main category (2, 5, 8, 10 against the hazards 6 and 7), and G02 holds four of the six.
    assert len(s.hotspots) == 1
    h = s.hotspots[0]
    assert (h.count, h.category, h.category_count, h.grid) == (6, "illegal_parking", 4, "玉津二网格")  # by name


def test_top_tables_rank_as_the_teams_leaderboard_does(scenario):
    from app.teams.points import leaderboard

    s = weekly_summary("2025-W48", now=NOW)
    start, end = s.start, s.end
    for rows, by in ((s.top_volunteers, "volunteer"), (s.top_teams, "team")):
        theirs = [
            (r.rank, r.name, r.points, r.reports, r.fixed)
            for r in leaderboard(start, end, by=by)
            if r.points or r.reports
        ]
        assert [(r["rank"], r["name"], r["points"], r["reports"], r["fixed"]) for r in rows] == theirs


def test_summary_queries_use_the_time_indexes_on_sqlite(scenario):
    """No statement of the summary walks all reports: weeks are found by time, the backlog by its indexes."""
    from sqlalchemy import event

    if db.engine.dialect.name != "sqlite":
        pytest.skip("query plans checked on SQLite (PostgreSQL plans depend on its statistics)")
    statements = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        weekly_summary("2025-W48", now=NOW)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    # Plans without table statistics: what ANALYZE learnt from the tiny tables of earlier tests would
    # rightly prefer scans here; the question is which indexes the queries can use at scale.
    import sqlite3

    path = db.engine.url.database
    with sqlite3.connect(path) as conn:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
            conn.execute("DELETE FROM sqlite_stat1")
    raw = sqlite3.connect(path)
    try:
        plans = {}
        for statement, parameters in statements:
            # Lookups of given ids are not walks (on a tiny table the planner may scan for them).
            by_id = "WHERE report.id IN (" in statement
            if statement.lstrip().upper().startswith("SELECT") and "report" in statement and not by_id:
                cur = raw.cursor()
                cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                plans[statement] = [row[-1] for row in cur.fetchall()]
    finally:
        raw.close()
    # The backlog: open reports filed after the moment, and open ones whose deadline had not come.
    backlog = [p for s, p in plans.items() if ("AS filed_after0" in s or "AS not_due0" in s) and "GROUP BY" in s]
    open_only = (
        "ix_report_open_created",
        "ix_report_submitted_accept_due",
        "ix_report_working_resolve_due",
        "ix_report_status_created (status=?",
    )
    assert len(backlog) == 3 and all(any(i in line for i in open_only for line in p) for p in backlog)
    for statement, plan in plans.items():
        for line in plan:
            # A scan of a partial index holds open reports only (the planner may prefer it once
            # other tests have left statistics behind); a scan of the table or a full index is refused.
            scans_reports = line.split()[:2] == ["SCAN", "report"]  # not report_event, report_backlog_count
            assert not scans_reports or any(i in line for i in open_only[:3]), (statement[:200], plan)
            one_sided = "created_at<?)" in line and "created_at>?" not in line  # everything filed before...
            assert not one_sided or any(i in line for i in open_only), (statement[:200], plan)


def test_a_report_moved_twice_the_same_way_in_a_week_counts_once(app):
    u = f.make_user("rd")
    # parking (resolve deadline 168 h): resolved Tuesday 09:00 (24 h), verification failed, resolved again
    # Wednesday, closed fixed; reopened Thursday, resolved and closed fixed again on Friday.
    f.history(
        f.report_row(u, "illegal_parking", at(0, 9)),
        [
            ("accepted", at(0, 10)),
            ("assigned", at(0, 11)),
            ("resolved", at(1, 9)),
            ("in_progress", at(1, 12)),
            ("resolved", at(2, 9)),
            ("closed", at(2, 10), {"outcome": "fixed"}),
            ("accepted", at(3, 9)),
            ("assigned", at(3, 10)),
            ("resolved", at(4, 9)),
            ("closed", at(4, 10), {"outcome": "fixed"}),
        ],
    )
    s = weekly_summary("2025-W48", now=NOW)
    assert (s.received, s.accepted, s.resolved, s.closed, s.reopened) == (1, 1, 1, 1, 1)
    assert s.closed_by_outcome == {"fixed": 1, "not_responsible": 0, "unable_to_fix": 0}
    assert (s.hours_to_resolve.median, s.hours_to_resolve.count) == (24, 1)  # the first resolution
    assert s.within_deadline_pct["resolve"] == 100
    assert (s.open_at_end, s.overdue_at_end) == (0, 0)
    assert [d["resolved"] for d in s.per_day] == [0, 1, 0, 0, 0, 0, 0]


def test_a_close_without_a_recorded_outcome_counts_the_reports_outcome(app):
    """Older events (or imports) may close a report without the outcome in their details: the summary
    then takes the outcome recorded on the report, as the triage service keeps it there too."""
    u = f.make_user("ro")
    r = f.raw_history(
        f.report_row(u, "illegal_parking", at(0, 9)),
        [("accepted", at(0, 10)), ("resolved", at(1, 9)), ("closed", at(1, 10))],
    )  # no outcome in the event
    r.outcome = "unable_to_fix"
    db.session.commit()
    s = weekly_summary("2025-W48", now=NOW)
    assert s.closed == 1
    assert s.closed_by_outcome == {"fixed": 0, "not_responsible": 0, "unable_to_fix": 1}


def test_closes_with_different_outcomes_in_a_week_count_the_report_once_under_each(app):
    """Closed as unable to fix, reopened, closed as fixed, all in one week: one close, one report under each
    outcome it was closed with; a close with an outcome nobody knows counts as a close and nothing else."""
    u = f.make_user("rc")
    f.history(
        f.report_row(u, "illegal_parking", at(0, 9)),
        [
            ("accepted", at(0, 10)),
            ("assigned", at(1, 8)),
            ("resolved", at(1, 9)),
            ("closed", at(1, 10), {"outcome": "unable_to_fix"}),
            ("accepted", at(2, 9)),
            ("assigned", at(3, 8)),
            ("resolved", at(3, 9)),
            ("closed", at(3, 10), {"outcome": "fixed"}),
        ],
    )
    f.raw_history(
        f.report_row(u, "noise", at(0, 9)),
        [  # an outcome the service would refuse
            ("accepted", at(0, 10)),
            ("closed", at(1, 10), {"outcome": "moved_away"}),
        ],
    )
    s = weekly_summary("2025-W48", now=NOW)
    assert (s.received, s.accepted, s.closed, s.reopened) == (2, 2, 2, 1)
    assert s.closed_by_outcome == {"fixed": 1, "not_responsible": 0, "unable_to_fix": 1}


def test_moves_at_the_same_instant_after_the_week_read_in_the_order_they_were_written(app):
    """The status at the end of the week is the from_status of the first move after it; two moves of one
    report stamped with the same instant are ordered by their ids (the order they were written)."""
    u = f.make_user("rt")
    # filed Friday, accepted Saturday: open (accepted) at the end of the week, and not overdue (parking:
    # 168 h to resolve). Monday 08:00 of the next week it is rejected and reopened in the same instant.
    r = f.history(
        f.report_row(u, "illegal_parking", at(4, 9)),
        [("accepted", at(5, 10)), ("rejected", at(7, 8)), ("accepted", at(7, 8))],
    )
    assert r.status == "accepted"
    s = weekly_summary("2025-W48", now=NOW)
    assert (s.open_at_end, s.overdue_at_end) == (1, 0)
    # a report rejected after the week and left so is not open now, but was open at the end of the week
    u2 = f.make_user("rt2")
    f.history(f.report_row(u2, "illegal_parking", at(4, 9)), [("accepted", at(5, 10)), ("rejected", at(7, 8))])
    s = weekly_summary("2025-W48", now=NOW)
    assert (s.open_at_end, s.overdue_at_end) == (2, 0)
    following = weekly_summary("2025-W49", now=NOW)  # the current week, as of Wednesday noon
    assert following.open_at_end == 1  # the first report (accepted again); the second was rejected


def test_counts_per_day_follow_local_days_across_a_clock_change(app):
    """Where the clocks move during the week, days are 23 or 25 hours long: Israel went to summer time on
    Friday 27 March 2026 at 02:00, so Saturday began 23 hours after Friday did."""
    app.config["TIMEZONE"] = "Asia/Jerusalem"
    jlm = ZoneInfo("Asia/Jerusalem")
    u = f.make_user("rj")
    r = f.report_row(u, "illegal_parking", datetime(2026, 3, 28, 0, 30, tzinfo=jlm))  # Saturday 00:30
    f.history(r, [("accepted", datetime(2026, 3, 29, 0, 30, tzinfo=jlm))])  # Sunday 00:30
    f.report_row(u, "noise", datetime(2026, 3, 27, 1, 30, tzinfo=jlm))  # Friday 01:30 (winter time)
    s = weekly_summary("2026-W13", now=datetime(2026, 4, 1, tzinfo=UTC))
    assert [d["date"] for d in s.per_day][4:] == ["2026-03-27", "2026-03-28", "2026-03-29"]
    assert [d["received"] for d in s.per_day] == [0, 0, 0, 0, 1, 1, 0]
    assert [d["accepted"] for d in s.per_day] == [0, 0, 0, 0, 0, 0, 1]


def test_comments_photos_and_edits_are_not_moves(app):
    """Comments, riders' photos and priority edits record the report's status as it stands (from = to);
    the week counts only transitions. Report A was rejected the week before and commented on in the week;
    report B resolved in the week gets a comment and a photo afterwards, both repeating "resolved"."""
    from app.models import ReportEvent

    u = f.make_user("rc")
    a = f.history(f.report_row(u, "illegal_parking", at(-3, 9)), [("rejected", at(-3, 10))])
    b = f.history(
        f.report_row(u, "illegal_parking", at(0, 9)),
        [("accepted", at(0, 10)), ("assigned", at(0, 11)), ("resolved", at(1, 9))],
    )
    for report, status, day, kind in (
        (a, "rejected", 2, "comment"),
        (b, "resolved", 3, "comment"),
        (b, "resolved", 4, "photo"),
        (b, "resolved", 5, "edit"),
    ):
        db.session.add(
            ReportEvent(
                report_id=report.id,
                kind=kind,
                created_at=at(day, 12),
                from_status=status,
                to_status=status,
                note="still there",
            )
        )
    db.session.commit()
    s = weekly_summary("2025-W48", now=NOW)
    assert (s.received, s.accepted, s.rejected, s.resolved) == (1, 1, 0, 1)
    assert (s.hours_to_resolve.count, s.hours_to_resolve.median) == (1, 24)
    assert [d["resolved"] for d in s.per_day] == [0, 1, 0, 0, 0, 0, 0]
    assert s.open_at_end == 1  # b (resolved, not closed); a was rejected before the week


def test_what_is_written_while_a_summary_is_built_does_not_skew_it(scenario):
    """Every figure comes from one snapshot: a report filed and another moved between two of the summary's
    statements (from another connection, committed) change nothing in it."""
    from sqlalchemy import event, insert, update

    from app.models import Report

    quiet = weekly_summary("2025-W48", now=NOW).to_dict()
    r = scenario["reports"]
    template = {c: getattr(r[1], c) for c in ("user_id", "category_id", "lat", "lon", "cell", "grid_id")}
    writes = []

    def write_once(_conn, _cursor, statement, _parameters, _context, _many):
        if writes or "report_backlog_count" not in statement:
            return
        writes.append(statement)
        with db.engine.begin() as other:  # another connection of the pool, committed at once
            moment = datetime.now(UTC)
            other.execute(
                insert(Report.__table__).values(
                    **template,
                    status="submitted",
                    created_at=moment,
                    captured_at=moment,
                    updated_at=moment,
                    accept_due_at=moment - timedelta(hours=1),
                    resolve_due_at=moment,
                )
            )
            other.execute(update(Report.__table__).where(Report.id == r[1].id).values(status="rejected"))

    event.listen(db.engine, "after_cursor_execute", write_once)
    try:
        busy = weekly_summary("2025-W48", now=NOW).to_dict()
    finally:
        event.remove(db.engine, "after_cursor_execute", write_once)
    assert writes  # the writes happened in the middle of it
    for s in (quiet, busy):
        s.pop("generated_at")
    assert busy == quiet


def test_the_backlog_counted_forward_from_the_filings_equals_the_one_counted_back_from_now(scenario):
    """Old weeks count their backlog forward (fewer events before them than since): the same figures."""
    later = NOW + timedelta(days=400)
    for week in ("2025-W47", "2025-W48", "2025-W49"):
        for now in (NOW, later):
            forward = weekly_summary(week, now, forward=True).to_dict()
            assert forward == weekly_summary(week, now, forward=False).to_dict(), (week, now)
    assert weekly_summary("2025-W48", NOW, forward=True).open_at_end == weekly_summary("2025-W48", NOW).open_at_end


def test_a_back_fill_carrying_the_backlog_week_to_week_gives_the_figures_computed_afresh(scenario):
    """The back-fill's backlog walk (filings and moves applied week by week) matches each week's own count."""
    from app.summaries import archive
    from app.summaries.weeks import parse_week

    later = NOW + timedelta(days=30)
    zone = ZoneInfo("Asia/Shanghai")
    weeks = [parse_week(n, zone, later) for n in ("2025-W46", "2025-W47", "2025-W48", "2025-W49", "2025-W50")]
    records = list(archive.backfill(weeks, later))
    assert [r.week for r in records] == [w.name for w in weeks]
    for r in records:
        fresh = json.loads(json.dumps(weekly_summary(r.week, later).to_dict()))
        assert r.data == fresh, r.week
    assert any(r.data["open_at_end"] and r.data["overdue_at_end"] for r in records)


def test_a_back_fill_loads_its_walk_from_the_first_filings_or_back_from_the_open_reports_alike(scenario):
    """Started early in the history, the walk reads each report's last move before its moment; started late
    (a back-fill resumed), the reports open now and the first move of each since: the same reports, in the
    same status, counted the same, and the same back-fill."""
    from app.summaries import archive
    from app.summaries.backlog_walk import BacklogWalk
    from app.summaries.weeks import parse_week

    zone = ZoneInfo("Asia/Shanghai")
    for moment in (at(-7), at(0, 0, 0), at(2, 9), at(7), at(30)):
        moment = moment.astimezone(UTC)
        forward = BacklogWalk(moment, now=moment + timedelta(days=36500))
        back = BacklogWalk(moment, now=moment)
        assert back.open == forward.open and back.tallies == forward.tallies, moment
        assert back.open or moment < at(-1, 23, 59).astimezone(UTC)
    # The back-fill's moment decides: W48 a year on loads forward, the day after it ends backward.
    week = parse_week("2025-W48", zone, NOW)
    forward = [r.data for r in archive.backfill([week], NOW + timedelta(days=365))]
    for r in archive.versions("2025-W48"):
        db.session.delete(r)
    db.session.commit()
    back = [r.data for r in archive.backfill([week], week.end + timedelta(days=1))]
    for data in (forward[0], back[0]):
        data.pop("generated_at")
    assert back == forward and forward[0]["open_at_end"]


def test_a_back_fill_counts_reports_overdue_when_their_deadline_passes_and_skips_weeks_already_published(app):
    """The back-fill's walk keeps the open and overdue counts as reports change, and makes a report overdue in
    the week its deadline passes though nothing moved; a week published before is not in the walk's way
    (the week after it counts its week before afresh). Worked out by hand, then checked against a fresh
    computation of every week."""
    from app.summaries import archive
    from app.summaries.weeks import parse_week

    rider = f.make_user("walker")
    P = "illegal_parking"
    # A: filed in W47, never moved, accept deadline Wednesday of W49: open from W47, overdue from W49.
    f.report_row(rider, P, at(-7, 9), accept_due_at=at(9, 9))
    # B: filed in W47, accepted at once (its accept deadline no longer counts), resolve deadline Friday of
    # W49, resolved in W50 (open, with no deadline): overdue at the end of W49 only.
    f.raw_history(
        f.report_row(rider, P, at(-7, 9), accept_due_at=at(-6, 9), resolve_due_at=at(11, 9)),
        [("accepted", at(-7, 10)), ("resolved", at(15, 9))],
    )
    # C: filed in W46 (open when the walk starts), never moved, accept deadline Wednesday of W48.
    f.report_row(rider, P, at(-14, 9), accept_due_at=at(2, 9))
    # D: filed and closed in W46 (not open when the walk starts), reopened on Thursday of W48, resolve
    # deadline Thursday of W49.
    f.raw_history(
        f.report_row(rider, P, at(-14, 9), resolve_due_at=at(10, 9)),
        [
            ("accepted", at(-14, 10)),
            ("resolved", at(-13, 9)),
            ("closed", at(-13, 12), {"outcome": "fixed"}),
            ("accepted", at(3, 9)),
        ],
    )
    later = at(40)
    zone = ZoneInfo("Asia/Shanghai")
    archive.publish("2025-W48", later)  # published before the back-fill: a gap in its weeks
    db.session.commit()
    weeks = [parse_week(n, zone, later) for n in ("2025-W47", "2025-W49", "2025-W50")]
    records = list(archive.backfill(weeks, later))
    assert [r.week for r in records] == ["2025-W47", "2025-W49", "2025-W50"]
    assert [r.data["open_at_end"] for r in records] == [3, 4, 4]
    assert [r.data["overdue_at_end"] for r in records] == [0, 4, 3]
    assert [r.data["previous"]["open_at_end"] for r in records] == [1, 4, 4]
    assert [r.data["previous"]["overdue_at_end"] for r in records] == [0, 1, 4]
    for r in records:
        assert r.data == json.loads(json.dumps(weekly_summary(r.week, later).to_dict())), r.week
