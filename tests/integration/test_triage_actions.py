"""The report page's actions for staff: one primary step, the rest in a secondary menu, destructive moves
marked and confirmed, actions before the timeline, the dispatch form's handlers, internal notes and replies,
labelled photos and the place by name."""

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ReportEvent, utcnow
from app.triage import services
from tests import factories as f


@pytest.fixture
def web(app, client):
    """A logged-in coordinator's client (English pages), a rider and a report of theirs."""
    rider = f.make_user("rider", display_name="Rider Zhang")
    coord = f.make_user("coord", "coordinator", display_name="Coordinator Li")
    report = f.report_row(rider, description="car on the tactile path")
    report.reference = f"GS-T-{report.id:04d}"
    db.session.commit()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    f.log_in(client, "coord")
    return client, coord, report


def forms(html):
    """(target, kind) of each move form, in page order."""
    return re.findall(r'class="move stack" data-to="([a-z_]+)" data-kind="([a-z]+)"', html)


def test_one_primary_button_for_the_expected_step_and_the_rest_in_a_menu(web):
    client, coord, report = web
    html = client.get(f"/board/reports/{report.id}").get_data(as_text=True)
    assert forms(html) == [("accepted", "primary"), ("rejected", "destructive"), ("duplicate", "destructive")]
    assert html.count('class="button primary"') == 1
    menu = html[html.index('id="more-moves"') :]
    assert 'data-to="rejected"' in menu and 'data-to="duplicate"' in menu and 'data-to="accepted"' not in menu
    # reject and duplicate: a destructive button that asks before sending
    reject = html[html.index('data-to="rejected"') : html.index('data-to="duplicate"')]
    assert 'class="button danger"' in reject and f"Reject {report.reference}?" in reject

    services.transition(report, coord, "accepted", version=1)
    db.session.commit()
    html = client.get(f"/board/reports/{report.id}").get_data(as_text=True)
    assert forms(html)[0] == ("assigned", "primary")


def test_the_handlers_primary_step_is_start(app, client):
    rider = f.make_user("rider")
    handler = f.make_user("handler", "handler", department="traffic_police")
    report = f.history(
        f.report_row(rider), [("accepted", utcnow()), ("assigned", utcnow(), {"assignee_id": handler.id})]
    )
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    f.log_in(client, "handler")
    html = client.get(f"/board/reports/{report.id}").get_data(as_text=True)
    assert forms(html) == [("in_progress", "primary"), ("resolved", "secondary")]


def test_the_actions_come_before_the_timeline(web):
    client, _coord, report = web
    html = client.get(f"/board/reports/{report.id}").get_data(as_text=True)
    assert html.index('id="moves"') < html.index('id="timeline"')


def test_the_dispatch_form_lists_only_the_chosen_departments_handlers(web):
    client, coord, report = web
    f.make_user("police", "handler", department="traffic_police", display_name="Officer Wu")
    f.make_user("green", "handler", department="environment", display_name="Inspector Ma")
    services.transition(report, coord, "accepted", version=1)
    db.session.commit()
    html = client.get(f"/board/reports/{report.id}").get_data(as_text=True)
    select_html = re.search(r'<select name="assignee".*?</select>', html, re.S).group(0)
    assert ">Officer Wu</option>" in select_html and ">Inspector Ma</option>" not in select_html
    # every handler is in the list the page filters from when another department is chosen
    assert "Inspector Ma" in select_html.split(">", 1)[0]


def test_a_moves_note_is_internal_and_the_reply_is_for_the_rider(web):
    client, _coord, report = web
    token = f.csrf_from(client.get(f"/board/reports/{report.id}").get_data(as_text=True))
    resp = client.post(
        f"/board/reports/{report.id}/transition",
        data={"csrf_token": token, "to": "accepted", "version": "1", "note": "plate looks fake", "reply": "On it"},
    )
    assert resp.status_code == 302
    events = list(db.session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id)))
    move = next(e for e in events if e.kind == "transition")
    internal = next(e for e in events if e.internal)
    assert (move.note, move.internal) == ("On it", False)
    assert internal.note == "plate looks fake"


def test_the_api_keeps_a_moves_note_internal_unless_told_otherwise(app, client):
    rider, rider_h = f.make_user("rider", token=True)
    _coord, coord_h = f.make_user("coord", "coordinator", token=True)
    report = f.report_row(rider)
    url = f"/api/v1/reports/{report.id}/transitions"
    assert (
        client.post(url, json={"to": "accepted", "version": 1, "note": "plate looks fake"}, headers=coord_h).status_code
        == 200
    )
    body = {"to": "rejected", "version": 2, "note": "not ours", "reply": "Please call 12345", "internal": False}
    assert client.post(url, json=body, headers=coord_h).status_code == 200
    seen = repr(client.get(f"/api/v1/reports/{report.id}/events", headers=rider_h).get_json())
    assert "plate looks fake" not in seen
    assert "Please call 12345" in seen and "not ours" in seen


def test_a_reject_needs_a_note_or_a_reply(app, client):
    rider = f.make_user("rider")
    _coord, coord_h = f.make_user("coord", "coordinator", token=True)
    report = f.report_row(rider)
    url = f"/api/v1/reports/{report.id}/transitions"
    refused = client.post(url, json={"to": "rejected", "version": 1}, headers=coord_h)
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (400, "note_required")
    assert (
        client.post(url, json={"to": "rejected", "version": 1, "reply": "blurred photo"}, headers=coord_h).status_code
        == 200
    )


def test_before_and_after_photos_are_labelled_and_the_place_is_named(app, client):
    from app.grids.models import Grid

    grid = Grid(
        code="G9",
        name="玉津一网格",
        geometry={
            "type": "Polygon",
            "coordinates": [[[103.9, 29.2], [103.96, 29.2], [103.96, 29.23], [103.9, 29.23], [103.9, 29.2]]],
        },
    )
    db.session.add(grid)
    db.session.commit()
    rider = f.make_user("rider")
    coord = f.make_user("coord", "coordinator")
    report = f.file_report(rider)
    assert report.grid_id == grid.id and report.address is None
    f.history(report, [("accepted", utcnow()), ("assigned", utcnow())], actor=coord)
    services.transition(report, coord, "resolved", version=report.version, reply="towed", after_photo=f.jpeg())
    db.session.commit()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    f.log_in(client, "coord")
    html = client.get(f"/board/reports/{report.id}").get_data(as_text=True)
    assert re.search(r'class="photo photo-report">.*?<figcaption>Before</figcaption>', html, re.S)
    assert re.search(r'class="photo photo-after">.*?<figcaption>After</figcaption>', html, re.S)
    place = re.search(r'<p class="place"[^>]*>(.*?)</p>', html, re.S).group(1)
    assert "玉津一网格" in place and "29.2089" not in place
