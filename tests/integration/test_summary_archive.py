"""Published weeks: publishing freezes a week exactly as computed then; corrections afterwards leave it
alone and are counted as late changes; republishing keeps the versions; the back-fill resumes; the
worker's Monday job publishes and emails once; trends are the sums of the published weeks."""

import csv
import email
import io
import json
from datetime import date, datetime, timedelta
from email import policy
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.grids.models import Grid
from app.models import Category, Report, User
from app.summaries import archive, trends
from app.summaries.models import PublishedSummary
from app.summaries.services import weekly_summary
from tests import factories as f
from tests.conftest import need
from tests.servers import SmtpCatcher

SH = ZoneInfo("Asia/Shanghai")
MON = date(2025, 3, 3)  # Monday of 2025-W10
WEEK = "2025-W10"
AFTER = datetime(2025, 3, 10, 9, 0, tzinfo=SH)  # the Monday after: W10 is complete
RING = [[103.0, 29.0], [104.5, 29.0], [104.5, 30.0], [103.0, 30.0], [103.0, 29.0]]
SQUARE = {"type": "Polygon", "coordinates": [RING]}


def at(day: int, hour: int = 0) -> datetime:
    d = MON + timedelta(days=day)
    return datetime(d.year, d.month, d.day, hour, tzinfo=SH)


@pytest.fixture
def week_data(app):
    """Reports in 2025-W10 and the weeks around it, one user of each staff role."""
    rider = f.make_user("rider1", team="犍路先锋")
    f.make_user("coord", role="coordinator")
    f.make_user("boss", role="admin")
    f.report_row(rider, "illegal_parking", at(-3, 9))
    f.history(
        f.report_row(rider, "illegal_parking", at(0, 9)),
        [("accepted", at(0, 11)), ("assigned", at(1, 8)), ("resolved", at(1, 9))],
    )
    f.history(f.report_row(rider, "elevator_hazard", at(2, 9)), [("rejected", at(2, 10), {})])
    f.report_row(rider, "illegal_parking", at(3, 9), lat=29.2091, lon=103.9513)
    f.report_row(rider, "garbage", at(6, 23))
    f.report_row(rider, "garbage", at(8, 10))  # W11
    f.report_row(rider, "illegal_parking", at(-364, 10))  # 2024-W10: same week last year
    return rider


def _login(client, username):
    f.log_in(client, db.session.query(User).filter_by(username=username).one())
    return client


def _w10_reports():
    start, end = at(0).astimezone(ZoneInfo("UTC")), at(7).astimezone(ZoneInfo("UTC"))
    return list(db.session.scalars(select(Report).where(Report.created_at >= start, Report.created_at < end)))


def _json(d):
    return json.loads(json.dumps(d))


# ---- publish and freeze -----------------------------------------------------------------------


def test_publishing_stores_exactly_what_a_fresh_computation_gives(week_data):
    record, created = archive.publish(WEEK, AFTER)
    db.session.commit()
    assert created and record.version == 1 and record.current
    assert record.data == _json(weekly_summary(WEEK, AFTER).to_dict())
    assert record.published_at == AFTER and record.code_version.startswith("gridsnap ")
    assert record.headline["received"] == record.data["received"] == 4
    assert record.groups["category"]["illegal_parking"]["received"] == 2
    # what the page, JSON, CSV and email render from it is that data again
    assert archive.summary_of(record).to_dict() == record.data


def test_publishing_twice_is_a_no_op(week_data, runner):
    first, _ = archive.publish(WEEK, AFTER)
    db.session.commit()
    again, created = archive.publish(WEEK, AFTER + timedelta(days=1))
    assert not created and again.id == first.id
    out = runner.invoke(args=["summary", WEEK, "--publish"])
    assert out.exit_code == 0 and "already published 2025-W10 version 1" in out.output
    assert db.session.scalar(select(func.count()).select_from(PublishedSummary)) == 1


def test_the_cli_publishes_the_last_complete_week_without_a_name(week_data, runner):
    from app.summaries.weeks import last_complete_week

    out = runner.invoke(args=["summary", "--publish"])
    assert out.exit_code == 0, out.output
    assert archive.published(last_complete_week(SH).name) is not None


def test_a_week_not_over_is_not_published_and_its_page_stays_live(week_data, client, runner):
    with pytest.raises(archive.WeekNotOver):
        archive.publish("2025-W11", at(9, 12))
    from app.summaries.weeks import week_of

    current = week_of(datetime.now(SH), SH).name
    out = runner.invoke(args=["summary", current, "--publish"])
    assert out.exit_code != 0 and current in out.output
    _login(client, "coord")
    page = client.get(f"/summaries/{current}").get_data(as_text=True)
    assert "so-far" in page and 'id="published-badge"' not in page


def test_corrections_after_publication_leave_the_published_figures_and_count_as_late_changes(week_data, client):
    record, _ = archive.publish(WEEK, AFTER)
    db.session.commit()
    published = _json(record.data)
    reports = sorted(_w10_reports(), key=lambda r: r.id)
    garbage = db.session.scalar(select(Category).where(Category.code == "garbage"))
    # a coordinator corrects a category, another report's place; then the grids are redrawn
    reports[0].category_id = garbage.id
    reports[1].lat, reports[1].lon = 29.3, 103.8
    grids_before = dict(db.session.execute(select(Report.id, Report.grid_id)).all())
    db.session.add(Grid(code="G9", name="新网格", geometry=SQUARE))
    db.session.commit()
    from app.grids.services import regrid_open_reports

    moved = regrid_open_reports(None)
    db.session.commit()
    assert moved >= 1
    # a move after publication is no correction: it changes nothing of a finished week
    f.history(reports[3], [("accepted", datetime.now(SH))])

    live = weekly_summary(WEEK)
    assert live.by_category != [] and _json(live.to_dict())["by_category"] != published["by_category"]
    regridded = {i for i, g in db.session.execute(select(Report.id, Report.grid_id)) if grids_before[i] != g}
    # the reports filed by the week's end (the week before's and last year's too: open at its end)
    filed_by_end = {r.id for r in db.session.scalars(select(Report)) if r.created_at < at(7)}
    expected_late = len(({reports[0].id, reports[1].id} | regridded) & filed_by_end)
    assert expected_late >= 4
    assert archive.late_changes(record) == expected_late

    _login(client, "coord")
    assert client.get(f"/summaries/{WEEK}.json").get_json() == published
    page = client.get(f"/summaries/{WEEK}").get_data(as_text=True)
    assert 'id="published-badge"' in page and "2025-03-10 09:00" in page
    assert f"{expected_late} reports of this week changed after publication" in page
    rows = list(csv.reader(io.StringIO(client.get(f"/summaries/{WEEK}.csv").get_data(as_text=True))))
    assert [r[1] for r in rows[1:]] == [r["category"] for r in published["by_category_grid"]]


def test_recompute_shows_the_live_figures_beside_the_published_with_differences(week_data, client):
    archive.publish(WEEK, AFTER)
    db.session.commit()
    _login(client, "coord")
    page = client.get(f"/summaries/{WEEK}/recompute").get_data(as_text=True)
    assert "The figures computed now are the published ones." in page and 'class="differs"' not in page
    r = sorted(_w10_reports(), key=lambda r: r.id)[0]
    r.category_id = db.session.scalar(select(Category.id).where(Category.code == "garbage"))
    db.session.commit()
    page = client.get(f"/summaries/{WEEK}/recompute").get_data(as_text=True)
    assert 'id="difference-count"' in page and 'class="differs"' in page
    assert client.get("/summaries/2025-W11/recompute").status_code == 404  # not published


def test_an_admin_publishes_a_week_from_its_page(week_data, client):
    _login(client, "coord")
    assert 'id="publish"' not in client.get(f"/summaries/{WEEK}").get_data(as_text=True)
    _login(client, "boss")
    page = client.get(f"/summaries/{WEEK}").get_data(as_text=True)
    assert 'id="publish"' in page and 'id="published-badge"' not in page
    assert client.post(f"/summaries/{WEEK}/publish", data={"csrf_token": f.csrf_from(page)}).status_code == 302
    record = archive.published(WEEK)
    assert record.version == 1 and record.published_by_id == db.session.query(User).filter_by(username="boss").one().id
    assert 'id="published-badge"' in client.get(f"/summaries/{WEEK}").get_data(as_text=True)
    from app.summaries.weeks import week_of

    current = week_of(datetime.now(SH), SH).name
    page = client.get(f"/summaries/{current}").get_data(as_text=True)
    assert 'id="publish"' not in page  # the week in progress cannot be published
    assert client.post(f"/summaries/{current}/publish", data={"csrf_token": f.csrf_from(page)}).status_code == 409


def test_an_admin_republishes_and_every_version_stays_downloadable(week_data, client):
    first, _ = archive.publish(WEEK, AFTER)
    db.session.commit()
    r = sorted(_w10_reports(), key=lambda r: r.id)[0]
    r.category_id = db.session.scalar(select(Category.id).where(Category.code == "garbage"))
    db.session.commit()
    _login(client, "coord")
    token = f.csrf_from(client.get(f"/summaries/{WEEK}").get_data(as_text=True))
    assert client.post(f"/summaries/{WEEK}/publish", data={"csrf_token": token}).status_code == 403
    _login(client, "boss")
    page = client.get(f"/summaries/{WEEK}").get_data(as_text=True)
    assert 'id="republish"' in page
    assert client.post(f"/summaries/{WEEK}/publish", data={"csrf_token": f.csrf_from(page)}).status_code == 302
    versions = archive.versions(WEEK)
    assert [(v.version, v.current) for v in versions] == [(1, False), (2, True)]
    assert versions[1].published_by_id == db.session.query(User).filter_by(username="boss").one().id
    assert archive.late_changes(versions[1]) == 0 and archive.late_changes(versions[0]) == 1
    v1 = client.get(f"/summaries/{WEEK}/versions/1.json")
    assert v1.get_json() == first.data and v1.headers["X-GridSnap-Version"] == "1"
    assert client.get(f"/summaries/{WEEK}.json").get_json() == versions[1].data != first.data
    assert client.get(f"/summaries/{WEEK}/versions/2.csv").data.decode().startswith("week,category,")
    assert client.get(f"/summaries/{WEEK}/versions/3.json").status_code == 404
    page = client.get(f"/summaries/{WEEK}").get_data(as_text=True)
    assert 'id="versions"' in page and f"/summaries/{WEEK}/versions/1.json" in page


def test_the_digest_from_the_cli_sends_the_published_record(week_data, runner, smtp_server):
    _opt_in("coord", "coord@example.org")
    record, _ = archive.publish(WEEK, AFTER)
    db.session.commit()
    r = sorted(_w10_reports(), key=lambda r: r.id)[0]
    r.category_id = db.session.scalar(select(Category.id).where(Category.code == "garbage"))
    db.session.commit()
    out = runner.invoke(args=["summary", WEEK, "--email"])
    assert out.exit_code == 0, out.output
    msg = email.message_from_bytes(smtp_server.envelopes[0].content, policy=policy.default)
    assert record.data["narrative"]["zh"] in msg.get_body(preferencelist=("plain",)).get_content()


# ---- back-fill --------------------------------------------------------------------------------


def test_the_back_fill_publishes_every_week_and_resumes_where_it_stopped(week_data, runner):
    from app.summaries.weeks import last_complete_week

    last = last_complete_week(SH)
    since = last.shifted(-5).name
    archive.publish(last.shifted(-3).name)  # done before: a back-fill stopped half way
    db.session.commit()
    out = runner.invoke(args=["summary", "--since", since])
    assert out.exit_code != 0 and "--since goes with --publish" in out.output
    out = runner.invoke(args=["summary", "--publish", "--since", since])
    assert out.exit_code == 0, out.output
    assert "publishing 5 week(s)" in out.output and "published 5 week(s)" in out.output
    weeks = db.session.scalars(select(PublishedSummary.week).order_by(PublishedSummary.week)).all()
    assert weeks == [last.shifted(-i).name for i in range(5, -1, -1)]
    out = runner.invoke(args=["summary", "--publish", "--since", since])
    assert out.exit_code == 0 and "published 0 week(s)" in out.output


# ---- the worker's Monday job ------------------------------------------------------------------


@pytest.fixture
def smtp_server(app):
    need(SmtpCatcher.available(), "aiosmtpd not installed: pip install aiosmtpd")
    inbox = SmtpCatcher().start()
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=inbox.port, SMTP_TLS="", SMTP_USER="", SMTP_SENDER="gridsnap@example.org"
    )
    yield inbox
    inbox.stop()


def _opt_in(username, address):
    u = db.session.query(User).filter_by(username=username).one()
    u.email, u.wants_digest = address, True
    db.session.commit()


def test_the_monday_job_publishes_last_week_and_emails_it_once(week_data, smtp_server):
    from app.notify.periodic import week_ended

    _opt_in("coord", "coord@example.org")
    monday = datetime(2025, 3, 10, 0, 1, tzinfo=SH)
    assert week_ended(monday) is True
    db.session.commit()
    record = archive.published(WEEK)
    assert record is not None and record.published_at == monday
    assert len(smtp_server.envelopes) == 1
    msg = email.message_from_bytes(smtp_server.envelopes[0].content, policy=policy.default)
    assert WEEK in msg["Subject"] and f"{record.data['received']} reports" in msg["Subject"]
    # the next minutes of the week (this worker or another): nothing again
    assert week_ended(monday + timedelta(minutes=1)) is False
    assert week_ended(monday + timedelta(days=6, hours=23)) is False
    db.session.commit()
    assert len(smtp_server.envelopes) == 1 and len(archive.versions(WEEK)) == 1
    # the next Monday: the next week
    assert week_ended(monday + timedelta(days=7)) is True
    db.session.commit()
    assert archive.published("2025-W11") is not None and len(smtp_server.envelopes) == 2


def test_the_monday_job_publishes_even_when_the_mail_server_is_down(week_data, app):
    from app.notify.periodic import week_ended
    from tests.servers import free_port

    _opt_in("coord", "coord@example.org")
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_TLS="", SMTP_USER="")
    assert week_ended(datetime(2025, 3, 10, 0, 1, tzinfo=SH)) is True
    db.session.commit()
    assert archive.published(WEEK) is not None


# ---- sparklines, last year, trends ------------------------------------------------------------


def _publish_weeks(names, now=None):
    for n in names:
        archive.publish(n, now)
    db.session.commit()


def test_the_week_page_has_sparklines_and_the_same_week_last_year(week_data, client):
    _publish_weeks(["2024-W10", "2025-W08", "2025-W09", WEEK])
    _login(client, "coord")
    page = client.get(f"/summaries/{WEEK}").get_data(as_text=True)
    assert page.count('class="sparkline"') >= 9
    assert "same week last year (2024-W10): 1" in page
    series = archive.headline_series(archive.parse_week(WEEK, SH))
    assert series["series"]["received"][-4:] == [None, 0, 1, 4]  # W07 not published; W08 none; W09 one
    assert archive.same_week_last_year(archive.parse_week("2020-W53", SH)) is None


def test_trends_are_the_sums_of_the_published_weeks(week_data, client):
    names = ["2025-W09", WEEK, "2025-W11"]
    _publish_weeks(names)
    records = {n: archive.published(n) for n in names}
    # corrections afterwards change nothing in the trends: they come from the published records alone
    for r in db.session.scalars(select(Report)):
        r.category_id = db.session.scalar(select(Category.id).where(Category.code == "garbage"))
    db.session.commit()
    t = trends.trend("2025-W08", "2025-W11", "category", "received")
    assert t.weeks == ["2025-W08", *names] and t.missing == ["2025-W08"]
    for s in t.series:
        assert s.values[0] is None
        for n, v in zip(names, s.values[1:], strict=True):
            want = [g["received"] for g in records[n].data["by_category"] if (g["code"] or "") == s.code]
            assert v == (want[0] if want else 0)
    for i, n in enumerate(names, start=1):
        assert sum(s.values[i] for s in t.series) == records[n].data["received"]
    total = trends.trend("2025-W08", "2025-W11", "total", "open_at_end")
    assert total.series[0].values == [None, *(records[n].data["open_at_end"] for n in names)]
    for by in ("grid", "department"):
        t = trends.trend("2025-W09", "2025-W11", by, "received")
        assert [sum(v for v in col) for col in zip(*(s.values for s in t.series), strict=True)] == [
            records[n].data["received"] for n in names
        ]
    _login(client, "coord")
    page = client.get("/summaries/trends?from=2025-W08&to=2025-W11&by=category&figure=received")
    assert page.status_code == 200 and 'id="trend-chart"' in page.get_data(as_text=True)
    assert "polyline" in page.get_data(as_text=True)
    body = client.get("/summaries/trends.csv?from=2025-W08&to=2025-W11&by=category").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert sum(int(r["received"]) for r in rows if r["week"] == WEEK) == records[WEEK].data["received"]


@pytest.mark.parametrize(
    "query, status",
    [
        ("from=2023-W01&to=2025-W11", 400),  # more than two years
        ("from=2025-W11&to=2025-W01", 400),  # backwards
        ("from=2025-W99&to=2025-W11", 404),
        ("from=nonsense&to=2025-W11", 400),
        ("from=2025-W01&to=2025-W11&by=rider", 400),
        ("from=2025-W01&to=2025-W11&figure=hours", 400),
    ],
)
def test_bad_trend_ranges_are_refused_clearly(week_data, client, query, status):
    _login(client, "coord")
    assert client.get(f"/summaries/trends?{query}").status_code == status


def test_104_weeks_of_trends_are_allowed(week_data):
    t = trends.trend("2023-W11", "2025-W10", "department", "received")
    assert len(t.weeks) == 104 and t.series == []


def test_a_record_published_by_another_code_version_still_renders(week_data, client):
    record, _ = archive.publish(WEEK, AFTER)
    data = dict(record.data)
    data["a_figure_of_an_older_version"] = 1  # a field since removed
    del data["top_teams"]  # a field it did not have yet
    data["by_grid"] = [{**g, "retired": True} for g in data["by_grid"]]
    record.data = data
    db.session.commit()
    _login(client, "coord")
    page = client.get(f"/summaries/{WEEK}")
    assert page.status_code == 200 and 'id="published-badge"' in page.get_data(as_text=True)
    assert client.get(f"/summaries/{WEEK}.csv").status_code == 200
    assert client.get(f"/summaries/{WEEK}.json").get_json()["a_figure_of_an_older_version"] == 1
