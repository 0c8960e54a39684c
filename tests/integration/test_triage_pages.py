"""The report page for staff and handlers: only legal moves as buttons, response templates,
the 409 page when someone else changed the report, comments and the after photo."""

import io
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Department, Report, ReportEvent
from app.triage import services
from tests import factories as f


def dept(code):
    return db.session.scalar(select(Department.id).where(Department.code == code))


@pytest.fixture
def web(app, client):
    """A logged-in coordinator's client (English pages), a rider and a report of theirs."""
    rider, _h = f.make_user("rider", display_name="Rider Zhang", phone="+8613812345678", token=True)
    coord = f.make_user("coord", "coordinator", display_name="Coordinator Li")
    report = f.report_row(rider, description="car on the tactile path")
    report.reference = f"GS-T-{report.id:04d}"
    db.session.commit()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    f.log_in(client, "coord")
    return client, coord, report


def move_forms(html):
    return re.findall(r'class="move stack" data-to="([a-z_]+)"', html)


def test_report_page_offers_only_the_legal_moves(web):
    client, _coord, report = web
    html = client.get(f"/board/reports/{report.id}").get_data(as_text=True)
    assert move_forms(html) == ["accepted", "rejected", "duplicate"]
    assert "Rider Zhang" in html and "+86138****5678" in html and "13812345678" not in html


def test_report_page_offers_response_templates_for_each_target(web):
    client, _coord, report = web
    html = client.get(f"/board/reports/{report.id}").get_data(as_text=True)
    reject = html[html.index('data-to="rejected"') : html.index('data-to="duplicate"')]
    assert "please take another one" in reject and "12345 hotline" in reject
    assert "please take another one" not in html[html.index('data-to="accepted"') : html.index('data-to="rejected"')]


def test_dispatch_form_suggests_the_category_default_department(web):
    client, coord, report = web
    services.transition(report, coord, "accepted", version=1)
    db.session.commit()
    html = client.get(f"/board/reports/{report.id}").get_data(as_text=True)
    assert move_forms(html) == ["assigned", "rejected", "duplicate"]
    assert re.search(r'<option value="traffic_police" selected>[^<]*\(suggested\)', html)


def test_moving_through_the_form_and_a_stale_form_gets_a_409_page_naming_the_change(web):
    client, _coord, report = web
    html = client.get(f"/board/reports/{report.id}").get_data(as_text=True)
    token = f.csrf_from(html)
    ok = client.post(
        f"/board/reports/{report.id}/transition",
        data={"csrf_token": token, "to": "accepted", "version": "1", "reply": "on it"},
    )
    assert ok.status_code == 302
    stale = client.post(
        f"/board/reports/{report.id}/transition",
        data={"csrf_token": token, "to": "rejected", "version": "1", "note": "blurred"},
    )
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "Coordinator Li moved it from Submitted to Accepted" in page
    assert "Note: on it" in page
    db.session.expire_all()
    assert db.session.get(Report, report.id).status == "accepted"


def test_priority_form_and_its_stale_page(web):
    client, coord, report = web
    token = f.csrf_from(client.get(f"/board/reports/{report.id}").get_data(as_text=True))
    services.set_priority(report, coord, "urgent", version=1)
    db.session.commit()
    stale = client.post(
        f"/board/reports/{report.id}/priority", data={"csrf_token": token, "priority": "low", "version": "1"}
    )
    assert stale.status_code == 409 and "changed its priority to Urgent" in stale.get_data(as_text=True)
    ok = client.post(
        f"/board/reports/{report.id}/priority", data={"csrf_token": token, "priority": "low", "version": "2"}
    )
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Report, report.id).priority == "low"


def test_form_without_csrf_is_refused(web):
    client, _coord, report = web
    resp = client.post(f"/board/reports/{report.id}/transition", data={"to": "accepted", "version": "1"})
    assert resp.status_code == 400


def test_internal_comment_from_the_page(web):
    client, _coord, report = web
    token = f.csrf_from(client.get(f"/board/reports/{report.id}").get_data(as_text=True))
    client.post(
        f"/board/reports/{report.id}/comment", data={"csrf_token": token, "note": "call the owner", "internal": "1"}
    )
    event = db.session.scalar(
        select(ReportEvent).where(ReportEvent.report_id == report.id, ReportEvent.kind == "comment")
    )
    assert (event.note, event.internal) == ("call the owner", True)


def test_handler_page_offers_start_and_resolve_and_the_after_photo(app, client):
    rider, _h = f.make_user("rider", token=True)
    handler = f.make_user("handler", "handler", department_id=dept("traffic_police"))
    report = f.report_row(rider, status="assigned", department_id=dept("traffic_police"))
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    f.log_in(client, "handler")
    html = client.get(f"/board/reports/{report.id}").get_data(as_text=True)
    assert move_forms(html) == ["in_progress", "resolved"]
    assert 'name="after_photo"' in html
    token = f.csrf_from(html)
    resp = client.post(
        f"/board/reports/{report.id}/transition",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "to": "resolved",
            "version": "1",
            "note": "towed",
            "after_photo": (io.BytesIO(f.jpeg()), "after.jpg"),
        },
    )
    assert resp.status_code == 302
    db.session.expire_all()
    fresh = db.session.get(Report, report.id)
    assert fresh.status == "resolved" and [p.kind for p in fresh.photos] == ["after"]
    assert handler.id == db.session.scalar(select(ReportEvent.actor_id).where(ReportEvent.to_status == "resolved"))


def test_handler_of_another_department_cannot_open_or_move_the_report(app, client):
    rider, _h = f.make_user("rider", token=True)
    f.make_user("handler", "handler", department_id=dept("environment"))
    report = f.report_row(rider, status="assigned", department_id=dept("traffic_police"))
    f.log_in(client, "handler")
    assert client.get(f"/board/reports/{report.id}").status_code == 403
    token = f.csrf_from(client.get("/tasks").get_data(as_text=True))
    resp = client.post(
        f"/board/reports/{report.id}/transition", data={"csrf_token": token, "to": "in_progress", "version": "1"}
    )
    assert resp.status_code == 403


def test_riders_cannot_open_the_staff_report_page(app, client):
    rider = f.make_user("rider")
    report = f.report_row(rider)
    f.log_in(client, "rider")
    assert client.get(f"/board/reports/{report.id}").status_code == 403
    assert client.get("/tasks").status_code == 403
