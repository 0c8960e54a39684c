"""Recognition points: awarded from report events exactly as configured, capped per local day, recomputable."""

from datetime import UTC, datetime, timedelta

from app.extensions import db
from app.models import CoReporter, ReportEvent
from app.teams import points
from tests import factories as f

# 10:00 in Shanghai on a Wednesday
T0 = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)


def closed(at, outcome):
    """The moves that close an accepted report with this outcome, all at one moment."""
    return [("assigned", at), ("resolved", at), ("closed", at, {"outcome": outcome})]


def _config(app, **kw):
    app.config.update(
        {
            "GRIDSNAP_POINTS_ACCEPTED": 5,
            "GRIDSNAP_POINTS_FIXED": 10,
            "GRIDSNAP_POINTS_COREPORTER_PERCENT": 50,
            "GRIDSNAP_POINTS_DAILY_CAP": 1000,
            **kw,
        }
    )


def test_accepted_report_earns_the_configured_amount(app):
    _config(app, GRIDSNAP_POINTS_ACCEPTED=7)
    rider = f.make_user("r1")
    f.history(f.file_report(rider), [("accepted", T0)])
    assert points.points_for([rider.id]) == {rider.id: 7}


def test_fixed_close_earns_more_and_other_outcomes_do_not(app):
    _config(app)
    rider = f.make_user("r1")
    other = f.make_user("r2")
    f.history(
        f.file_report(rider),
        [
            ("accepted", T0),
            ("assigned", T0 + timedelta(hours=1)),
            ("resolved", T0 + timedelta(hours=2)),
            ("closed", T0 + timedelta(hours=3), {"outcome": "fixed"}),
        ],
    )
    f.history(
        f.file_report(other),
        [
            ("accepted", T0),
            ("assigned", T0 + timedelta(hours=1)),
            ("resolved", T0 + timedelta(hours=2)),
            ("closed", T0 + timedelta(hours=3), {"outcome": "unable_to_fix"}),
        ],
    )
    assert points.points_for([rider.id, other.id]) == {rider.id: 15, other.id: 5}


def test_rejected_duplicate_and_unreviewed_reports_earn_nothing(app):
    _config(app)
    rider = f.make_user("r1")
    f.file_report(rider)  # still submitted
    f.history(f.file_report(rider), [("rejected", T0, {})])
    f.history(f.file_report(rider), [("accepted", T0), ("rejected", T0 + timedelta(hours=1))])
    target = f.file_report(f.make_user("r2"))
    f.history(f.file_report(rider), [("duplicate", T0, {"duplicate_of": target.id})])
    assert points.points_for([rider.id]) == {rider.id: 0}


def test_reopening_withdraws_the_fixed_points_until_fixed_again(app):
    _config(app)
    rider = f.make_user("r1")
    r = f.history(
        f.file_report(rider),
        [
            ("accepted", T0),
            ("assigned", T0 + timedelta(hours=1)),
            ("resolved", T0 + timedelta(hours=2)),
            ("closed", T0 + timedelta(hours=3), {"outcome": "fixed"}),
            ("accepted", T0 + timedelta(hours=4)),
        ],
    )
    assert points.total_points(rider.id) == 5
    f.history(
        r,
        [
            ("assigned", T0 + timedelta(hours=5)),
            ("resolved", T0 + timedelta(hours=6)),
            ("closed", T0 + timedelta(hours=7), {"outcome": "fixed"}),
        ],
    )
    assert points.total_points(rider.id) == 15


def test_co_reporters_of_a_duplicate_get_the_configured_share(app):
    _config(app, GRIDSNAP_POINTS_COREPORTER_PERCENT=40)
    owner, co = f.make_user("owner"), f.make_user("co")
    target = f.file_report(owner)
    dup = f.file_report(co)
    f.history(dup, [("duplicate", T0, {"duplicate_of": target.id})])
    db.session.get(CoReporter, (target.id, co.id)).created_at = T0  # the merge wrote it now, not at T0
    db.session.commit()
    f.history(
        target,
        [
            ("accepted", T0 + timedelta(hours=1)),
            ("assigned", T0 + timedelta(hours=2)),
            ("resolved", T0 + timedelta(hours=3)),
            ("closed", T0 + timedelta(hours=4), {"outcome": "fixed"}),
        ],
    )
    assert points.points_for([owner.id, co.id]) == {owner.id: 15, co.id: 2 + 4}
    kinds = sorted(a.kind for a in points.awards(user_ids=[co.id]))
    assert kinds == ["co_accepted", "co_fixed"]


def test_a_rider_who_joined_with_a_photo_shares_an_acceptance_only_if_it_came_after(app):
    """A CoReporter row alone (the rider added their photo to a report nearby): a coordinator must accept the
    report after they joined for the acceptance share; joining an accepted report earns nothing until it is
    fixed. In everyone's tally as in the rider's own."""
    _config(app)
    owner, early, late = f.make_user("owner3"), f.make_user("early3"), f.make_user("joiner3")
    target = f.history(f.file_report(owner), [("accepted", T0)])
    db.session.add(CoReporter(report_id=target.id, user_id=early.id, created_at=T0 - timedelta(hours=1)))
    joined = T0 + timedelta(days=7)  # the next week
    db.session.add(CoReporter(report_id=target.id, user_id=late.id, created_at=joined))
    db.session.commit()
    f.history(
        target,
        [
            ("assigned", joined + timedelta(hours=1)),
            ("resolved", joined + timedelta(hours=2)),
            ("closed", joined + timedelta(hours=3), {"outcome": "fixed"}),
        ],
    )
    first, later = points.period_bounds("week", T0), points.period_bounds("week", joined)
    assert points.points_for(None, *first) == {owner.id: 5, early.id: 2}
    assert points.points_for(None, *later) == {owner.id: 10, early.id: 5, late.id: 5}
    assert points.points_for([late.id], *later) == {late.id: 5}
    assert [(a.kind, a.at) for a in points.awards(user_ids=[late.id])] == [("co_fixed", joined + timedelta(hours=3))]
    assert points.total_points(late.id) == 5 and points.total_points(early.id) == 2 + 5


def test_a_duplicate_merged_into_an_accepted_report_still_shares_its_acceptance(app):
    """A coordinator who merges a rider's own report into an accepted one has looked at it: the share stands."""
    _config(app)
    owner, co = f.make_user("owner4"), f.make_user("co4")
    target = f.history(f.file_report(owner), [("accepted", T0)])
    merged = T0 + timedelta(days=1)
    f.history(f.file_report(co), [("duplicate", merged, {"duplicate_of": target.id})])
    db.session.get(CoReporter, (target.id, co.id)).created_at = merged  # the merge wrote it now, not then
    db.session.commit()
    assert [(a.kind, a.at) for a in points.awards(user_ids=[co.id])] == [("co_accepted", merged)]


def test_one_riders_points_equal_their_line_in_everyones_points(app):
    """A profile asks for one rider's points (their reports only); the league tables ask for everyone's
    (every report that moved in the period). Both must agree, including a co-reporter whose duplicate
    was merged without a CoReporter row, all-time and within a week."""
    _config(app)
    owner, co, other = f.make_user("owner2"), f.make_user("co2"), f.make_user("other2")
    target = f.file_report(owner)
    dup = f.file_report(co)
    f.history(dup, [("duplicate", T0, {"duplicate_of": target.id})])
    # No CoReporter row (as merges made before those rows were kept): the duplicate itself makes co one.
    db.session.delete(db.session.get(CoReporter, (target.id, co.id)))
    db.session.commit()
    f.history(
        target,
        [
            ("accepted", T0 + timedelta(hours=1)),
            ("assigned", T0 + timedelta(hours=2)),
            ("resolved", T0 + timedelta(days=8)),
            ("closed", T0 + timedelta(days=8, hours=1), {"outcome": "fixed"}),
        ],
    )
    f.history(f.file_report(other), [("accepted", T0 + timedelta(days=1))])
    week = points.period_bounds("week", T0)
    for start, end in ((points.EPOCH, points.FAR), week, (T0 + timedelta(days=7), T0 + timedelta(days=14))):
        everyone = points.points_for(None, start, end)
        for u in (owner, co, other):
            assert points.points_for([u.id], start, end) == {u.id: everyone.get(u.id, 0)}, (u.username, start)
    assert points.total_points(co.id) == 2 + 5  # half of the accepted 5 (rounded down) and of the fixed 10
    assert points.points_for([co.id], *week) == {co.id: 2}  # the close fell in the following week


def test_daily_cap_applies_per_local_day(app):
    _config(app, GRIDSNAP_POINTS_ACCEPTED=5, GRIDSNAP_POINTS_DAILY_CAP=12)
    rider = f.make_user("r1")
    # 15:30 UTC and 16:30 UTC are different days in Shanghai (23:30 and 00:30).
    late = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
    for _ in range(3):
        f.history(f.file_report(rider), [("accepted", late)])
    for _ in range(3):
        f.history(f.file_report(rider), [("accepted", late + timedelta(hours=1))])
    assert points.total_points(rider.id) == 12 + 12
    app.config["TIMEZONE"] = "UTC"  # now both hours fall on the same day
    assert points.total_points(rider.id) == 12


def test_points_in_a_period_count_awards_dated_inside_it(app):
    _config(app)
    rider = f.make_user("r1")
    r = f.history(f.file_report(rider), [("accepted", T0)])
    f.history(
        r,
        [
            ("assigned", T0 + timedelta(days=1)),
            ("resolved", T0 + timedelta(days=8)),
            ("closed", T0 + timedelta(days=8), {"outcome": "fixed"}),
        ],
    )
    start, end = points.period_bounds("week", T0)
    assert points.points_for([rider.id], start, end) == {rider.id: 5}
    start2, end2 = points.period_bounds("week", T0 + timedelta(days=8))
    assert points.points_for([rider.id], start2, end2) == {rider.id: 10}


def test_points_are_recomputed_from_where_the_report_stands_now(app):
    _config(app)
    rider = f.make_user("r1")
    r = f.history(f.file_report(rider), [("accepted", T0)])
    assert points.total_points(rider.id) == 5
    f.history(r, [("rejected", T0 + timedelta(days=1))])
    assert points.total_points(rider.id) == 0  # rejected after all: nothing
    f.history(r, [("accepted", T0 + timedelta(days=9))])  # reopened: earns again, dated at the first acceptance
    assert points.total_points(rider.id) == 5
    start, end = points.period_bounds("week", T0)
    assert points.points_for([rider.id], start, end) == {rider.id: 5}
    later, after = points.period_bounds("week", T0 + timedelta(days=9))
    assert points.points_for([rider.id], later, after) == {rider.id: 0}


def test_week_and_month_bounds_are_local(app):
    start, end = points.period_bounds("week", T0)
    assert start == datetime(2026, 11, 15, 16, 0, tzinfo=UTC)  # Monday 16th 00:00 +08:00
    assert end - start == timedelta(days=7)
    mstart, mend = points.period_bounds("month", T0)
    assert mstart == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert mend == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)


def test_volunteer_leaderboard_ranks_by_points_with_display_names(app):
    _config(app)
    a = f.make_user("ra", display_name="Alice")
    b = f.make_user("rb", display_name="Bob")
    f.history(f.file_report(a), [("accepted", T0)])
    f.history(
        f.file_report(b),
        [
            ("accepted", T0),
            ("assigned", T0),
            ("resolved", T0),
            ("closed", T0 + timedelta(hours=1), {"outcome": "fixed"}),
        ],
    )
    start, end = points.period_bounds("week", T0)
    rows = points.leaderboard(start, end, by="volunteer")
    assert [(r.rank, r.name, r.points, r.fixed) for r in rows] == [(1, "Bob", 15, 1), (2, "Alice", 5, 0)]


def test_team_league_ranks_by_points_per_active_member(app):
    _config(app)
    big = [f.make_user(f"b{i}", team="Big") for i in range(4)]
    small = f.make_user("s1", team="Small")
    for u in big[:2]:
        f.history(f.file_report(u), [("accepted", T0)])
    f.history(f.file_report(small), [("accepted", T0)])
    start, end = points.period_bounds("month", T0)
    rows = points.leaderboard(start, end, by="team")
    assert [(r.name, r.points, r.total_points, r.members) for r in rows] == [("Small", 5.0, 5, 1), ("Big", 2.5, 10, 4)]
    big[3].active = False
    big[2].active = False
    db.session.commit()
    rows = points.leaderboard(start, end, by="team")
    assert [(r.name, r.points) for r in rows] == [("Big", 5.0), ("Small", 5.0)]


def test_a_comment_after_the_close_keeps_the_fixed_points(app):
    """A staff comment (or the internal note a close carries, written just after it) repeats the status
    "closed" without an outcome: it is not a move, and the report stays closed as fixed."""
    _config(app)
    rider = f.make_user("commented")
    r = f.history(f.file_report(rider), [("accepted", T0), *closed(T0 + timedelta(hours=1), "fixed")])
    db.session.add(
        ReportEvent(
            report_id=r.id,
            kind="comment",
            created_at=T0 + timedelta(hours=2),
            from_status="closed",
            to_status="closed",
            note="thanks",
            internal=True,
        )
    )
    db.session.commit()
    assert sorted(a.kind for a in points.awards(user_ids=[rider.id])) == ["accepted", "fixed"]
    assert points.total_points(rider.id) == 15
    assert points.points_for(None)[rider.id] == 15


def test_of_two_moves_at_one_instant_the_later_written_is_the_latest(app):
    """Moves stamped with the same instant are ordered as they were written (by id): a close as fixed
    followed in the same instant by a reopening leaves no fixed award; the other way round it stands."""
    _config(app)
    reopened, again = f.make_user("same1"), f.make_user("same2")
    t = T0 + timedelta(hours=3)
    f.history(f.file_report(reopened), [("accepted", T0), *closed(t, "fixed"), ("accepted", t)])
    f.history(
        f.file_report(again),
        [("accepted", T0), *closed(T0 + timedelta(hours=1), "fixed"), ("accepted", t), *closed(t, "fixed")],
    )
    assert points.points_for([reopened.id, again.id]) == {reopened.id: 5, again.id: 15}


def test_everyones_awards_in_a_period_equal_each_riders_own(app):
    """The league tables read the owners' awards straight from the report columns and only the co-reporters'
    shares through each report's history; one rider's points go through the history of every report of
    theirs. Over varied histories (fixed, reopened, rejected after acceptance, duplicates merged with and
    without a CoReporter row, riders joining later with a photo) and several periods, both give the same
    awards."""
    import random

    _config(app, GRIDSNAP_POINTS_DAILY_CAP=0)
    rng = random.Random(7)
    riders = [f.make_user(f"mix{i}") for i in range(6)]
    reports = []
    for _i in range(40):
        t = T0 + timedelta(days=rng.randint(-10, 10), hours=rng.randint(0, 23))
        h = timedelta(hours=1)
        shape = rng.choice(
            ["accepted", "fixed", "unfixed", "reopened", "refixed", "rejected", "late_reject", "submitted"]
        )
        moves = {
            "accepted": [("accepted", t)],
            "fixed": [
                ("accepted", t),
                ("assigned", t + h),
                ("resolved", t + 2 * h),
                ("closed", t + 3 * h, {"outcome": "fixed"}),
            ],
            "unfixed": [("accepted", t), *closed(t + 26 * h, "unable_to_fix")],
            "reopened": [("accepted", t), *closed(t + h, "fixed"), ("accepted", t + 50 * h)],
            "refixed": [
                ("accepted", t),
                *closed(t + h, "fixed"),
                ("accepted", t + 30 * h),
                *closed(t + 200 * h, "fixed"),
            ],
            "rejected": [("rejected", t, {})],
            "late_reject": [("accepted", t), ("rejected", t + 80 * h)],
            "submitted": [],
        }[shape]
        report = f.file_report(rng.choice(riders))
        reports.append(f.history(report, moves) if moves else report)
    for _ in range(8):  # duplicates merged into one of the reports; half keep the CoReporter row the merge wrote
        target = rng.choice([r for r in reports if r.status not in ("rejected", "duplicate")])
        rider = rng.choice(riders)
        at = T0 + timedelta(days=rng.randint(-10, 10))
        had_row = db.session.get(CoReporter, (target.id, rider.id)) is not None
        f.history(f.file_report(rider), [("duplicate", at, {"duplicate_of": target.id})])
        row = None if had_row else db.session.get(CoReporter, (target.id, rider.id))
        if row is not None:
            if rng.random() < 0.5:
                row.created_at = at
            else:  # as merges made before those rows were kept
                db.session.delete(row)
        db.session.commit()
    for _ in range(5):  # riders who added their photo to a report, before or after its awards
        target, rider = rng.choice(reports), rng.choice(riders)
        if not db.session.get(CoReporter, (target.id, rider.id)):
            db.session.add(
                CoReporter(report_id=target.id, user_id=rider.id, created_at=T0 + timedelta(days=rng.randint(-10, 10)))
            )
            db.session.commit()

    def key(a):
        return (a.at, a.report_id, a.user_id, a.kind)

    periods = [
        (points.EPOCH, points.FAR),
        points.period_bounds("week", T0),
        points.period_bounds("week", T0 - timedelta(days=7)),
        points.period_bounds("month", T0),
        (T0 - timedelta(days=3), T0 + timedelta(days=2, hours=5)),
    ]
    for start, end in periods:
        everyone = points.awards(start, end)
        each = sorted((a for u in riders for a in points.awards(start, end, user_ids=[u.id])), key=key)
        assert everyone == each, (start, end)
        assert {a.kind for a in everyone} >= (
            {"accepted", "fixed", "co_accepted"} if end - start > timedelta(days=20) else {"accepted"}
        )
