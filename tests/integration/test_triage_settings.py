"""Admins edit response templates per target status, category deadlines and default departments."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.errors import PermissionDenied, ValidationFailed
from app.extensions import db
from app.models import Category
from app.triage import settings
from app.triage.models import ResponseTemplate
from tests import factories as f


@pytest.fixture
def admin_client(app, client):
    f.user("boss", "admin", display_name="Admin Chen")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert f.login(client, "boss").status_code == 302
    return client


def test_admin_adds_edits_and_deletes_a_template_and_coordinators_see_it(admin_client, app):
    token = f.csrf_from(admin_client.get("/board/settings").get_data(as_text=True))
    resp = admin_client.post("/board/settings/templates", data={
        "csrf_token": token, "target_status": "rejected", "text_zh": "重复上报", "text_en": "Reported twice",
        "sort_order": "1"})
    assert resp.status_code == 302
    t = db.session.scalar(select(ResponseTemplate).where(ResponseTemplate.text_en == "Reported twice"))
    assert t.target_status == "rejected"
    admin_client.post(f"/board/settings/templates/{t.id}", data={
        "csrf_token": token, "target_status": "rejected", "text_zh": "重复上报了", "text_en": "Reported twice already",
        "sort_order": "1"})
    db.session.expire_all()
    assert db.session.get(ResponseTemplate, t.id).text_en == "Reported twice already"
    # a coordinator's reject form offers it, the accept form does not
    rider, _h = f.token_user("rider")
    report = f.filed_report(rider)
    f.user("coord", "coordinator")
    coordinator = app.test_client()
    coordinator.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    f.login(coordinator, "coord")
    html = coordinator.get(f"/board/reports/{report.id}").get_data(as_text=True)
    assert "Reported twice already" in html[html.index('data-to="rejected"'):html.index('data-to="duplicate"')]
    assert coordinator.get("/board/settings").status_code == 403
    resp = admin_client.post(f"/board/settings/templates/{t.id}", data={"csrf_token": token, "delete": "1"})
    assert resp.status_code == 302
    tid = t.id
    db.session.expire_all()
    assert db.session.get(ResponseTemplate, tid) is None
    from app.admin.models import AuditLog
    actions = list(db.session.scalars(select(AuditLog.action).where(AuditLog.target_type == "response_template")
                                      .order_by(AuditLog.id)))
    assert actions == ["create", "update", "delete"]


def test_template_needs_a_target_that_some_move_leads_to_and_some_text(app):
    admin, _h = f.token_user("boss", "admin")
    with pytest.raises(ValidationFailed):
        settings.save_template(admin, None, target_status="submitted", text_zh="x", text_en="x")
    with pytest.raises(ValidationFailed):
        settings.save_template(admin, None, target_status="closed", text_zh=" ", text_en="")
    t = settings.save_template(admin, None, target_status="closed", text_zh="", text_en="Fixed, thanks")
    assert t.text_zh == "Fixed, thanks"  # the other language falls back instead of an empty option


def test_only_admins_change_settings(app):
    coord, _h = f.token_user("coord", "coordinator")
    with pytest.raises(PermissionDenied):
        settings.save_template(coord, None, target_status="closed", text_zh="x", text_en="x")
    cat = db.session.scalar(select(Category).where(Category.code == "garbage"))
    with pytest.raises(PermissionDenied):
        settings.set_category_rules(coord, cat.id, accept_hours=1, resolve_hours=2, default_department=None)


def test_category_deadlines_apply_to_reports_filed_afterwards(admin_client, app):
    cat = db.session.scalar(select(Category).where(Category.code == "garbage"))
    assert (cat.accept_hours, cat.resolve_hours) == (24, 168)
    hazard = db.session.scalar(select(Category).where(Category.code == "elevator_hazard"))
    assert (hazard.accept_hours, hazard.resolve_hours) == (2, 24)
    token = f.csrf_from(admin_client.get("/board/settings").get_data(as_text=True))
    resp = admin_client.post(f"/board/settings/categories/{cat.id}", data={
        "csrf_token": token, "accept_hours": "4", "resolve_hours": "48", "default_department": "property"})
    assert resp.status_code == 302
    rider = f.user("rider")
    report = f.report(rider, category="garbage")
    assert report.accept_due_at - report.created_at == timedelta(hours=4)
    assert report.resolve_due_at - report.created_at == timedelta(hours=48)
    assert report.department.code == "property"


def test_nonsense_deadlines_are_refused(admin_client, app):
    cat = db.session.scalar(select(Category).where(Category.code == "garbage"))
    token = f.csrf_from(admin_client.get("/board/settings").get_data(as_text=True))
    for accept, resolve in [("0", "10"), ("abc", "10"), ("20", "10"), ("1", "99999")]:
        resp = admin_client.post(f"/board/settings/categories/{cat.id}", data={
            "csrf_token": token, "accept_hours": accept, "resolve_hours": resolve})
        assert resp.status_code == 400, (accept, resolve)
    db.session.expire_all()
    assert db.session.get(Category, cat.id).accept_hours == 24


def test_settings_page_lists_department_members(admin_client, app):
    from app.models import Department
    dept = db.session.scalar(select(Department.id).where(Department.code == "environment"))
    f.token_user("h1", "handler", "environment", display_name="Handler Sun")
    db.session.commit()
    html = admin_client.get("/board/settings").get_data(as_text=True)
    assert "Handler Sun" in html and dept
    assert 'id="settings-link"' in admin_client.get("/board").get_data(as_text=True)


def test_admin_puts_a_rider_in_a_department_as_a_handler(admin_client, app):
    from app.models import User
    u = f.user("wang", display_name="Wang Wu")
    token = f.csrf_from(admin_client.get("/board/settings").get_data(as_text=True))
    resp = admin_client.post("/board/settings/members", data={"csrf_token": token, "username": "wang",
                                                              "department": "property"})
    assert resp.status_code == 302
    db.session.expire_all()
    u = db.session.get(User, u.id)
    assert (u.role, u.department.code) == ("handler", "property")
    admin_client.post("/board/settings/members", data={"csrf_token": token, "username": "wang", "department": ""})
    db.session.expire_all()
    assert db.session.get(User, u.id).department_id is None
    missing = admin_client.post("/board/settings/members", data={"csrf_token": token, "username": "nobody",
                                                                 "department": "property"})
    assert missing.status_code == 404
