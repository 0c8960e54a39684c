"""The board as a work queue (issue 19): "Needs attention" first (hazards, then the overdue by how late, then
by waiting time), rows with a thumbnail and the place, the deadline by level, the side panel."""

import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.grids.models import Grid
from app.models import utcnow
from tests import factories as f

NOW = utcnow()
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[103.9, 29.2], [103.96, 29.2], [103.96, 29.23], [103.9, 29.23], [103.9, 29.2]]],
}


@pytest.fixture
def queue(app, client):
    rider = f.make_user("rider")
    f.make_user("coord", "coordinator")
    q = {
        # waiting 5 h, not late
        "waiting_long": f.report_row(rider, "garbage", at=NOW - timedelta(hours=5)),
        # waiting 1 h, not late
        "waiting_short": f.report_row(rider, "garbage", at=NOW - timedelta(hours=1)),
        # 2 days late
        "very_late": f.report_row(rider, "noise", at=NOW - timedelta(days=4), accept_due_at=NOW - timedelta(days=2)),
        # 1 hour late
        "late": f.report_row(rider, "noise", at=NOW - timedelta(days=2), accept_due_at=NOW - timedelta(hours=1)),
        # a hazard, filed just now
        "hazard": f.report_row(rider, "fire_lane_blocked", at=NOW - timedelta(minutes=5)),
    }
    f.log_in(client, "coord")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client, q


def row_ids(html):
    return [int(i) for i in re.findall(r'<tr class="[^"]*" data-id="(\d+)"', html)]


def test_needs_attention_is_the_default_order(queue):
    client, q = queue
    html = client.get("/board").get_data(as_text=True)
    order = ["hazard", "very_late", "late", "waiting_long", "waiting_short"]
    assert row_ids(html) == [q[k].id for k in order]
    assert re.search(r'<option value="attention" selected>Needs attention</option>', html)
    # the other orders stay available
    newest = client.get("/board?sort=newest").get_data(as_text=True)
    assert row_ids(newest)[0] == q["hazard"].id and row_ids(newest)[-1] == q["very_late"].id
    assert row_ids(client.get("/board?sort=oldest").get_data(as_text=True))[0] == q["very_late"].id


def test_rows_carry_a_thumbnail_and_the_place(app, client):
    db.session.add(Grid(code="G01", name="玉津一网格", geometry=SQUARE))
    db.session.commit()
    rider = f.make_user("rider")
    f.make_user("coord", "coordinator")
    named = f.file_report(rider, address="新华路12号")
    unnamed = f.file_report(rider)
    f.log_in(client, "coord")
    html = client.get("/board").get_data(as_text=True)
    row = html.split(f'data-id="{named.id}"')[1].split("</tr>")[0]
    assert re.search(rf'<img src="/photos/{named.photos[0].id}/thumb.jpg"', row)
    assert "新华路12号" in row
    row = html.split(f'data-id="{unnamed.id}"')[1].split("</tr>")[0]
    assert '<span class="place-name">玉津一网格</span>' in row


def test_the_deadline_is_shown_by_level(queue):
    client, q = queue
    from app.models import ReportEvent

    soon = q["waiting_long"]
    soon.accept_due_at = NOW + timedelta(minutes=30)  # the last quarter of its window
    db.session.add(
        ReportEvent(
            report_id=q["very_late"].id,
            kind="escalated",
            to_status="submitted",
            from_status="submitted",
            details={"level": 2, "due": q["very_late"].accept_due_at.isoformat()},
            internal=True,
        )
    )
    db.session.commit()
    html = client.get("/board").get_data(as_text=True)

    def row(key):
        return (
            html.split(f'data-id="{q[key].id}"')[0].rsplit("<tr", 1)[1]
            + html.split(f'data-id="{q[key].id}"')[1].split("</tr>")[0]
        )

    assert 'class="escalated"' in row("very_late") and "chip level-escalated" in row("very_late")
    assert 'class="overdue"' in row("late") and "chip level-overdue" in row("late")
    assert 'class="due-soon"' in row("waiting_long") and "chip level-due-soon" in row("waiting_long")
    assert "chip level" not in row("waiting_short")


def test_the_side_panel_is_the_reports_body_without_the_page(queue):
    client, q = queue
    html = client.get(f"/board/reports/{q['late'].id}/panel?back=/board%3Fsort%3Dnewest").get_data(as_text=True)
    assert "<html" not in html and 'id="panel-title"' in html and 'id="moves"' in html
    assert '<input type="hidden" name="back" value="/board?sort=newest">' in html
    token = f.csrf_from(client.get("/board").get_data(as_text=True))
    resp = client.post(
        f"/board/reports/{q['late'].id}/transition",
        data={"csrf_token": token, "to": "accepted", "version": "1", "back": "/board?sort=newest"},
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/board?sort=newest")
    off_site = client.get(f"/board/reports/{q['late'].id}/panel?back=https://evil.example/").get_data(as_text=True)
    assert "evil.example" not in off_site
