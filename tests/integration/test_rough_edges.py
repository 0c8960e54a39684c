"""Rough edges found by trying GridSnap as a new user would (issue 19), each pinned by a test: the board's
suggested department, the first timeline entry, one date format, the weekly summary's tables, names and
weeks, the admin pages, badge progress, My reports' pager and the board's current tab."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.extensions import db
from app.grids.models import Grid
from tests import factories as f

SH = ZoneInfo("Asia/Shanghai")
MON = date(2025, 3, 3)  # 2025-W10
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[103.9, 29.2], [103.96, 29.2], [103.96, 29.23], [103.9, 29.23], [103.9, 29.2]]],
}


def at(day: int, hour: int = 9) -> datetime:
    d = MON + timedelta(days=day)
    return datetime(d.year, d.month, d.day, hour, tzinfo=SH)


def page(client, path, lang="en"):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    r = client.get(path)
    assert r.status_code == 200, path
    return r.get_data(as_text=True)


@pytest.fixture
def coord(app, client):
    f.make_user("coord", "coordinator", display_name="Coordinator Li")
    f.log_in(client, "coord")
    return client


def test_the_board_shows_a_submitted_reports_department_as_a_suggestion(coord):
    rider = f.make_user("rider")
    waiting = f.report_row(rider, "illegal_parking")
    sent = f.history(f.report_row(rider, "noise"), [("accepted", f.utcnow()), ("assigned", f.utcnow())])
    html = page(coord, "/board")
    row = html.split(f'data-id="{waiting.id}"')[1].split("</tr>")[0]
    dept = re.search(r'<td class="dept">(.*?)</td>', row, re.S).group(1)
    assert 'class="suggested"' in dept and "Suggested" in dept and "Traffic police" in dept
    row = html.split(f'data-id="{sent.id}"')[1].split("</tr>")[0]
    dept = re.search(r'<td class="dept">(.*?)</td>', row, re.S).group(1)
    assert dept.strip() == "Environment bureau"


def test_the_first_timeline_entry_reads_submitted_not_the_time_of_filing(coord):
    report = f.report_row(f.make_user("rider"))
    html = page(coord, f"/board/reports/{report.id}", "zh-CN")
    first = re.search(r'<li class="event event-submitted">.*?<span class="what">(.*?)</span>', html, re.S).group(1)
    assert first.strip() == "已提交"


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_one_date_format_on_every_page(coord, lang):
    report = f.report_row(f.make_user("rider"), at=datetime(2026, 12, 7, 5, 46, tzinfo=ZoneInfo("UTC")))
    for path in (f"/board/reports/{report.id}", "/board"):
        html = page(coord, path, lang)
        assert "2026-12-07 13:46" in html, path  # local time, Asia/Shanghai
        assert not re.search(r"\b2026/12/7\b|12/7/26|Dec 7, 2026", html), path


@pytest.fixture
def summary_week(app, client):
    grid = Grid(code="G01", name="玉津一网格", geometry=SQUARE)
    db.session.add(grid)
    db.session.commit()
    rider = f.make_user("rider1")
    f.make_user("coord", "coordinator")
    for hour in (9, 10, 11):
        f.report_row(rider, "illegal_parking", at(1, hour), grid_id=grid.id, address="玉津镇新华路12号")
    f.log_in(client, "coord")
    return client


def test_the_summary_names_places_and_shows_no_internal_codes(summary_week):
    html = page(summary_week, "/summaries/2025-W10", "zh-CN")
    by_grid = html.split('id="by-grid"')[1].split("</section>")[0]
    assert "玉津一网格" in by_grid and "G01" not in by_grid
    by_category = html.split('id="by-category"')[1].split("</section>")[0]
    assert "illegal_parking" not in by_category
    hotspots = html.split('id="hotspots"')[1].split("<table")[1].split("</table>")[0]
    assert "玉津镇新华路12号" in hotspots and "玉津一网格" in hotspots and "G01" not in hotspots
    assert not re.search(r"29\.2\d{3}", hotspots)
    assert "新华路" in html.split('class="narrative"')[1].split("</div>")[0]


def test_the_summarys_scrolling_boxes_are_labelled_focusable_regions(summary_week):
    html = page(summary_week, "/summaries/2025-W10")
    boxes = re.findall(r'<div class="(?:table-scroll|chart-box)"[^>]*>', html)
    assert len(boxes) >= 8
    for box in boxes:
        assert 'tabindex="0"' in box and 'role="region"' in box and 'aria-label="' in box, box


def test_the_summary_index_lists_weeks_from_the_first_report_on(app, client):
    f.make_user("coord", "coordinator")
    f.report_row(f.make_user("rider1"), at=datetime.now(SH) - timedelta(days=15))
    f.log_in(client, "coord")
    html = page(client, "/summaries/")
    assert len(re.findall(r'<a href="/summaries/\d{4}-W\d\d">', html)) in (3, 4)  # not 26 empty weeks


def test_admin_pages_show_department_names_whole_hours_and_use_the_width(app, client):
    f.make_user("boss", "admin")
    f.make_user("police", "handler", department="traffic_police")
    f.log_in(client, "boss")
    users = page(client, "/admin/users", "zh-CN")
    row = next(r for r in users.split("<tr") if ">police<" in r)
    assert "交警大队" in row
    assert "traffic_police" not in row
    categories = page(client, "/admin/categories", "zh-CN")
    assert "24 小时" in categories and ".0 小时" not in categories
    assert "fire_brigade" not in categories
    assert '<main class="wide">' in users and '<main class="wide">' in categories


def test_a_badge_not_yet_earned_shows_progress(app, client):
    rider = f.make_user("r1")
    for i in range(7):
        r = f.report_row(rider, at=f.utcnow() - timedelta(days=30 - i))
        f.history(
            r,
            [
                ("accepted", r.created_at + timedelta(hours=1)),
                ("assigned", r.created_at + timedelta(hours=2)),
                ("resolved", r.created_at + timedelta(hours=3)),
                ("closed", r.created_at + timedelta(hours=4), {"outcome": "fixed"}),
            ],
        )
    f.log_in(client, "r1")
    html = page(client, "/me/points")
    card = html.split(">10 fixed<")[1].split("</li>")[0]
    assert "7 / 10" in card and "were closed as fixed" not in card
    assert "Not earned yet" not in html


def test_my_reports_has_newer_as_well_as_older(app, client):
    rider = f.make_user("rider")
    for i in range(25):
        f.report_row(rider, at=f.utcnow() - timedelta(hours=i))
    f.log_in(client, "rider")
    first = page(client, "/mine")
    assert ">Older<" in first and ">Newer<" not in first
    second = page(client, "/mine?page=2")
    assert re.search(r'<a class="button" rel="prev" href="/mine">Newer</a>', second)


def test_the_boards_current_tab_is_marked_for_screen_readers(coord):
    html = page(coord, "/board?status=accepted")
    current = re.findall(r'<a [^>]*aria-current="page"[^>]*>', html)
    tabs = [a for a in current if 'class="tab' in a]
    assert len(tabs) == 1 and 'data-status="accepted"' in tabs[0]
