"""Admin pages: admins only, CSRF, and every change recorded in the audit log with before and after."""

import io
import json

from sqlalchemy import func, select

from app.audit import AuditLog
from app.extensions import db
from app.grids.models import Grid
from app.models import ApiToken, Category, Department, Report, Team, User
from app.teams import services as teams
from app.triage.models import ResponseTemplate
from tests import factories as f

ADMIN_PAGES = [
    "/admin/",
    "/admin/users",
    "/admin/users/new",
    "/admin/categories",
    "/admin/categories/new",
    "/admin/departments",
    "/admin/grids",
    "/admin/grids/export.geojson",
    "/admin/grids/regrid",
    "/admin/teams",
    "/admin/templates",
    "/admin/templates/new",
    "/admin/audit",
]

SQUARE = [[103.94, 29.20], [103.96, 29.20], [103.96, 29.22], [103.94, 29.22], [103.94, 29.20]]
BOWTIE = [[104.0, 29.0], [104.1, 29.1], [104.1, 29.0], [104.0, 29.1], [104.0, 29.0]]


def admin_client(client, username="boss"):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # the assertions read the English source strings
    f.make_user(username, role="admin", display_name="管理员")
    f.log_in(client, username)
    return client


def csrf(client, path="/admin/"):
    return f.csrf_from(client.get(path).get_data(as_text=True))


def audit(action):
    return db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).all()


def fresh(model, obj_id):
    db.session.expire_all()
    return db.session.get(model, obj_id)


def geojson_upload(*features):
    body = json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()
    return (io.BytesIO(body), "grids.geojson")


def feature(code, ring, name=None):
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name or code},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def test_non_admins_get_403_on_every_admin_page(app, client):  # client: app.test_client() gives fresh contexts
    for role in ("rider", "handler", "coordinator"):
        f.make_user(role, role=role)
        client = app.test_client()
        f.log_in(client, role)
        for path in ADMIN_PAGES:
            assert client.get(path).status_code == 403, (role, path)
        token = f.csrf_from(client.get("/me/points").get_data(as_text=True))
        resp = client.post(
            "/admin/departments", data={"csrf_token": token, "code": "x", "name_zh": "x", "name_en": "x"}
        )
        assert resp.status_code == 403
        assert 'href="/admin/"' not in client.get("/me/points").get_data(as_text=True)
    assert db.session.scalar(select(Department).where(Department.code == "x")) is None


def test_anonymous_visitors_are_sent_to_log_in(app, client):
    resp = client.get("/admin/users")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_admin_sees_every_admin_page_and_the_nav_link(app, client):
    admin_client(client)
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 200, path
    assert 'href="/admin/"' in client.get("/admin/users").get_data(as_text=True)


def test_forms_without_csrf_are_refused_and_change_nothing(app, client):
    admin_client(client)
    rider = f.make_user("rider1")
    resp = client.post(
        f"/admin/users/{rider.id}",
        data={"display_name": "x", "role": "admin", "team_id": 0, "department_id": 0, "active": "y"},
    )
    assert resp.status_code == 400
    assert fresh(User, rider.id).role == "rider"
    resp = client.post("/admin/departments", data={"code": "new_dept", "name_zh": "新", "name_en": "New"})
    assert resp.status_code == 400
    assert db.session.scalar(select(Department).where(Department.code == "new_dept")) is None
    assert audit("user.update") == [] and audit("department.create") == []


def test_admin_changes_role_team_and_department_and_the_audit_shows_before_and_after(app, client):
    admin_client(client)
    team = Team(name="犍路先锋")
    db.session.add(team)
    rider = f.make_user("rider1", display_name="老张")
    dept = db.session.scalar(select(Department).where(Department.code == "public_works"))
    token = csrf(client, f"/admin/users/{rider.id}")
    resp = client.post(
        f"/admin/users/{rider.id}",
        data={
            "csrf_token": token,
            "display_name": "张师傅",
            "role": "handler",
            "team_id": team.id,
            "department_id": dept.id,
            "active": "y",
        },
    )
    assert resp.status_code == 302
    person = fresh(User, rider.id)
    assert (person.display_name, person.role, person.team_id, person.department_id) == (
        "张师傅",
        "handler",
        team.id,
        dept.id,
    )
    [entry] = audit("user.update")
    assert entry.actor.username == "boss" and entry.target_id == str(rider.id)
    assert entry.before == {"display_name": "老张", "role": "rider", "team": None, "department": None}
    assert entry.after == {
        "display_name": "张师傅",
        "role": "handler",
        "team": "犍路先锋",
        "department": "public_works",
    }
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "user.update" in page and "老张" in page and "张师傅" in page and "管理员" in page
    assert "Account changed" in page and "Display name" in page and "public_works" in page


def test_deactivation_from_the_admin_page_stops_login_and_tokens_but_keeps_reports(app, client):
    admin_client(client)
    rider = f.make_user("rider1", password=f.PASSWORD)
    report = f.file_report(rider)
    tok = f.api_token(rider)
    token = csrf(client, f"/admin/users/{rider.id}")
    resp = client.post(
        f"/admin/users/{rider.id}",
        data={
            "csrf_token": token,
            "display_name": rider.display_name,
            "role": "rider",
            "team_id": 0,
            "department_id": 0,
        },
    )
    assert resp.status_code == 302
    assert fresh(User, rider.id).active is False
    [entry] = audit("user.deactivate")
    assert (entry.before, entry.after) == ({"active": True}, {"active": False})
    other = app.test_client()
    assert f.log_in_through_form(other, "rider1").status_code == 400
    assert other.get("/api/v1/reports?mine=1", headers={"Authorization": f"Bearer {tok}"}).status_code == 401
    assert fresh(Report, report.id).user_id == rider.id


def test_the_last_admin_cannot_demote_or_deactivate_themselves(app, client):
    admin_client(client)
    boss = db.session.scalar(select(User).where(User.username == "boss"))
    token = csrf(client, f"/admin/users/{boss.id}")
    resp = client.post(
        f"/admin/users/{boss.id}",
        data={
            "csrf_token": token,
            "display_name": "管理员",
            "role": "rider",
            "team_id": 0,
            "department_id": 0,
            "active": "y",
        },
    )
    assert resp.status_code == 409 and "at least one active administrator" in resp.get_data(as_text=True)
    assert fresh(User, boss.id).role == "admin"


def test_password_reset_lets_the_user_log_in_and_the_log_never_holds_the_password(app, client):
    admin_client(client)
    rider = f.make_user("rider1")
    token = csrf(client, f"/admin/users/{rider.id}")
    resp = client.post(
        f"/admin/users/{rider.id}/password", data={"csrf_token": token, "password": "short", "confirm": "short"}
    )
    assert resp.status_code == 400
    resp = client.post(
        f"/admin/users/{rider.id}/password",
        data={"csrf_token": token, "password": "brand-new-pw-9", "confirm": "brand-new-pw-9"},
    )
    assert resp.status_code == 302
    [entry] = audit("user.password")
    assert entry.after == {"password": "reset", "tokens_revoked": 0}
    assert "brand-new-pw-9" not in json.dumps([entry.before, entry.after])
    assert f.log_in_through_form(app.test_client(), "rider1", "brand-new-pw-9").status_code == 302


def test_password_reset_after_a_lost_phone_revokes_the_api_tokens_and_says_how_many(app, client):
    admin_client(client)
    rider = f.make_user("rider1")
    tokens = [f.api_token(rider), f.api_token(rider)]
    f.api_token(f.make_user("rider2"))  # someone else's token stays
    for plain in tokens:
        assert app.test_client().get("/api/v1/reports?mine=1", headers=f.bearer(plain)).status_code == 200
    token = csrf(client, f"/admin/users/{rider.id}")
    resp = client.post(
        f"/admin/users/{rider.id}/password",
        data={"csrf_token": token, "password": "brand-new-pw-9", "confirm": "brand-new-pw-9"},
    )
    assert resp.status_code == 302
    assert "2 API tokens were revoked" in client.get(resp.headers["Location"]).get_data(as_text=True)
    for plain in tokens:
        assert app.test_client().get("/api/v1/reports?mine=1", headers=f.bearer(plain)).status_code == 401
    assert db.session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.revoked_at.is_(None))) == 1
    [entry] = audit("user.password")
    assert entry.after == {"password": "reset", "tokens_revoked": 2}


def test_category_is_created_and_edited_with_deadlines_and_default_department(app, client):
    admin_client(client)
    dept = db.session.scalar(select(Department).where(Department.code == "urban_management"))
    token = csrf(client, "/admin/categories/new")
    data = {
        "csrf_token": token,
        "code": "dog_waste",
        "name_zh": "狗粪",
        "name_en": "Dog waste",
        "icon": "garbage",
        "accept_hours": "12",
        "resolve_hours": "72",
        "default_department_id": dept.id,
        "sort_order": "50",
        "active": "y",
    }
    assert client.post("/admin/categories/new", data=data).status_code == 302
    cat = db.session.scalar(select(Category).where(Category.code == "dog_waste"))
    assert (cat.name_zh, cat.hazard, cat.accept_hours, cat.resolve_hours, cat.default_department_id) == (
        "狗粪",
        False,
        12,
        72,
        dept.id,
    )
    resp = client.post(f"/admin/categories/{cat.id}", data={**data, "hazard": "y", "accept_hours": "2"})
    assert resp.status_code == 302
    assert (fresh(Category, cat.id).hazard, fresh(Category, cat.id).accept_hours) == (True, 2)
    [created] = audit("category.create")
    [updated] = audit("category.update")
    assert (created.after["code"], created.after["default_department"]) == ("dog_waste", "urban_management")
    assert updated.before == {"hazard": False, "accept_hours": 12.0}
    assert updated.after == {"hazard": True, "accept_hours": 2.0}
    # "Always its own department": not the grid's (dispatch by grid, 属地).
    client.post(f"/admin/categories/{cat.id}", data={**data, "hazard": "y", "accept_hours": "2", "own_department": "y"})
    assert fresh(Category, cat.id).own_department is True
    assert audit("category.update")[-1].after == {"own_department": True}


def test_category_with_impossible_deadlines_or_a_taken_code_is_refused(app, client):
    admin_client(client)
    token = csrf(client, "/admin/categories/new")
    base = {
        "csrf_token": token,
        "code": "dog_waste",
        "name_zh": "狗粪",
        "name_en": "Dog waste",
        "icon": "garbage",
        "accept_hours": "100",
        "resolve_hours": "10",
        "default_department_id": 0,
        "sort_order": "1",
    }
    resp = client.post("/admin/categories/new", data=base)
    assert resp.status_code == 400 and "cannot be longer" in resp.get_data(as_text=True)
    resp = client.post("/admin/categories/new", data={**base, "code": "garbage", "accept_hours": "1"})
    assert resp.status_code == 409
    resp = client.post("/admin/categories/new", data={**base, "accept_hours": "abc"})
    assert resp.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Category).where(Category.code == "dog_waste")) == 0
    assert audit("category.create") == []


def test_departments_and_their_members_are_managed_and_recorded(app, client):
    admin_client(client)
    token = csrf(client, "/admin/departments")
    resp = client.post(
        "/admin/departments",
        data={"csrf_token": token, "code": "water", "name_zh": "水务局", "name_en": "Water bureau"},
    )
    assert resp.status_code == 302
    dept = db.session.scalar(select(Department).where(Department.code == "water"))
    dept_id = dept.id
    rider = f.make_user("rider1")
    resp = client.post(f"/admin/departments/{dept.id}/members", data={"csrf_token": token, "username": "rider1"})
    assert resp.status_code == 302
    person = fresh(User, rider.id)
    assert (person.department_id, person.role) == (dept.id, "handler")
    assert "rider1" in client.get(f"/admin/departments/{dept.id}").get_data(as_text=True)
    # A department in use cannot be deleted.
    resp = client.post(f"/admin/departments/{dept.id}/delete", data={"csrf_token": token})
    assert resp.status_code == 302 and fresh(Department, dept.id) is not None
    client.post(f"/admin/departments/{dept.id}/members/{rider.id}/remove", data={"csrf_token": token})
    assert fresh(User, rider.id).department_id is None
    client.post(f"/admin/departments/{dept.id}/delete", data={"csrf_token": token})
    assert fresh(Department, dept_id) is None
    actions = [e.action for e in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actions == ["department.create", "department.member_add", "department.member_remove", "department.delete"]
    add = audit("department.member_add")[0]
    assert add.before == {"role": "rider", "department": None}
    assert add.after == {"role": "handler", "department": "water"}


def test_grid_upload_lists_every_bad_feature_and_imports_nothing(app, client):
    admin_client(client)
    token = csrf(client, "/admin/grids")
    resp = client.post(
        "/admin/grids/import",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "file": geojson_upload(
                feature("OK-1", SQUARE),
                feature("BAD-1", BOWTIE),
                {
                    "type": "Feature",
                    "properties": {"name": "no code"},
                    "geometry": {"type": "Polygon", "coordinates": [SQUARE]},
                },
            ),
        },
    )
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "feature 1: invalid geometry: Self-intersection" in page and "feature 2: properties.code is required" in page
    assert db.session.scalar(select(func.count()).select_from(Grid)) == 0
    resp = client.post(
        "/admin/grids/import",
        content_type="multipart/form-data",
        data={"csrf_token": token, "file": (io.BytesIO(b"{not json"), "x.geojson")},
    )
    assert resp.status_code == 400 and "not valid JSON" in resp.get_data(as_text=True)
    resp = client.post("/admin/grids/import", content_type="multipart/form-data", data={"csrf_token": token})
    assert resp.status_code == 400


def test_grid_upload_offers_to_regrid_open_reports_and_edits_are_recorded(app, client):
    admin_client(client)
    rider = f.make_user("rider1")
    report = f.file_report(rider, lat=29.21, lon=103.95)
    assert report.grid_id is None
    token = csrf(client, "/admin/grids")
    resp = client.post(
        "/admin/grids/import",
        content_type="multipart/form-data",
        data={"csrf_token": token, "file": geojson_upload(feature("Q-01", SQUARE, "前卫"))},
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/grids/regrid")
    page = client.get("/admin/grids/regrid").get_data(as_text=True)
    assert report.reference in page and "Q-01" in page
    assert client.post("/admin/grids/regrid", data={"csrf_token": token}).status_code == 302
    grid = db.session.scalar(select(Grid).where(Grid.code == "Q-01"))
    assert fresh(Report, report.id).grid_id == grid.id
    [regrid] = audit("grid.regrid")
    assert (regrid.before, regrid.after) == ({"grid": {report.reference: None}}, {"grid": {report.reference: "Q-01"}})
    worker = f.make_user("worker", role="handler")
    dept = db.session.scalar(select(Department).where(Department.code == "urban_management"))
    resp = client.post(
        f"/admin/grids/{grid.id}",
        data={"csrf_token": token, "name": "前卫社区", "worker_id": worker.id, "department_id": dept.id},
    )
    assert resp.status_code == 302
    assert (fresh(Grid, grid.id).worker_id, fresh(Grid, grid.id).department_id) == (worker.id, dept.id)
    [update] = audit("grid.update")
    assert update.before == {"name": "前卫", "worker": None, "department": None}
    assert update.after == {"name": "前卫社区", "worker": "worker", "department": "urban_management"}
    assert [e.action for e in db.session.scalars(select(AuditLog).order_by(AuditLog.id))] == [
        "grid.create",
        "grid.regrid",
        "grid.update",
    ]
    export = client.get("/admin/grids/export.geojson")
    assert export.status_code == 200 and "attachment" in export.headers["Content-Disposition"]
    assert export.get_json()["features"][0]["properties"] == {
        "code": "Q-01",
        "name": "前卫社区",
        "department": "urban_management",
        "worker": "worker",
    }
    map_page = client.get("/admin/grids").get_data(as_text=True)
    assert "vendor/leaflet/leaflet.js" in map_page and "grid-map" in map_page


def test_response_templates_are_created_edited_and_deleted_with_audit(app, client):
    admin_client(client)
    token = csrf(client, "/admin/templates/new")
    resp = client.post(
        "/admin/templates/new",
        data={
            "csrf_token": token,
            "target_status": "rejected",
            "text_zh": "照片看不清",
            "text_en": "The photo is unclear",
            "sort_order": "5",
        },
    )
    assert resp.status_code == 302
    tpl = db.session.scalar(select(ResponseTemplate).where(ResponseTemplate.text_zh == "照片看不清"))
    assert tpl.target_status == "rejected"
    assert (
        client.post(
            f"/admin/templates/{tpl.id}",
            data={"csrf_token": token, "target_status": "nonsense", "text_zh": "x", "text_en": "x"},
        ).status_code
        == 400
    )
    client.post(
        f"/admin/templates/{tpl.id}",
        data={
            "csrf_token": token,
            "target_status": "rejected",
            "text_zh": "照片模糊",
            "text_en": "The photo is blurred",
            "sort_order": "5",
        },
    )
    assert fresh(ResponseTemplate, tpl.id).text_zh == "照片模糊"
    assert client.post(f"/admin/templates/{tpl.id}/delete", data={"csrf_token": token}).status_code == 302
    assert fresh(ResponseTemplate, tpl.id) is None
    assert [e.action for e in db.session.scalars(select(AuditLog).order_by(AuditLog.id))] == [
        "template.create",
        "template.update",
        "template.delete",
    ]
    assert audit("template.delete")[0].before["text_zh"] == "照片模糊"


def test_teams_page_links_to_teams_and_counts_usable_invites(app, client):
    admin_client(client)
    boss = db.session.scalar(select(User).where(User.username == "boss"))
    team = teams.save_team(None, boss, name="小哥传声筒", slogan="", requires_approval=True)
    teams.create_invite(team, boss, 7)
    teams.revoke_invite(teams.create_invite(team, boss, 7), boss)
    db.session.commit()
    page = client.get("/admin/teams").get_data(as_text=True)
    assert "小哥传声筒" in page and f"/teams/{team.id}" in page and "1 usable of 2" in page


def test_audit_page_filters_and_pages(app, client):
    admin_client(client)
    boss = db.session.scalar(select(User).where(User.username == "boss"))
    for i in range(55):
        teams.save_team(None, boss, name=f"队{i:02d}", slogan="", requires_approval=False)
    f.make_user("rider1")
    from app.admin.services import reset_password

    reset_password(db.session.scalar(select(User).where(User.username == "rider1")), boss, "another-pw-1")
    db.session.commit()
    first = client.get("/admin/audit").get_data(as_text=True)
    assert "(56)" in first and "Page 1 of 2" in first and "队54" in first and "队00" not in first
    second = client.get("/admin/audit?page=2").get_data(as_text=True)
    assert "队00" in second and "队54" not in second
    only_users = client.get("/admin/audit?type=user").get_data(as_text=True)
    assert "user.password" in only_users and "team.create" not in only_users
    by_action = client.get("/admin/audit?action=team.&from=2000-01-01&to=2999-12-31").get_data(as_text=True)
    assert "(55)" in by_action
    assert "(0)" in client.get("/admin/audit?to=2000-01-01").get_data(as_text=True)
    for query in ("from=garbage", "page=-3", "actor=x"):  # a filter that cannot be read is refused, not ignored
        assert client.get(f"/admin/audit?{query}").status_code == 400, query


def test_admin_creates_an_account_with_a_normalised_mobile_number(app, client):
    admin_client(client)
    dept = db.session.scalar(select(Department).where(Department.code == "traffic_police"))
    token = csrf(client, "/admin/users/new")
    data = {
        "csrf_token": token,
        "username": "jj01",
        "display_name": "交警小刘",
        "role": "handler",
        "phone": "139-0013-9000",
        "team_id": 0,
        "department_id": dept.id,
        "password": "handler-pw-1",
        "confirm": "handler-pw-1",
    }
    assert client.post("/admin/users/new", data={**data, "phone": "010 6552 9988"}).status_code == 400
    assert client.post("/admin/users/new", data={**data, "username": "boss"}).status_code == 409
    resp = client.post("/admin/users/new", data=data)
    assert resp.status_code == 302
    person = db.session.scalar(select(User).where(User.username == "jj01"))
    assert (person.role, person.phone, person.department_id, person.active) == (
        "handler",
        "+8613900139000",
        dept.id,
        True,
    )
    [entry] = audit("user.create")
    assert entry.after == {
        "display_name": "交警小刘",
        "role": "handler",
        "active": True,
        "team": None,
        "department": "traffic_police",
    }
    assert "Account created" in client.get("/admin/audit").get_data(as_text=True)
    assert f.log_in_through_form(app.test_client(), "jj01", "handler-pw-1").status_code == 302


def test_odd_input_is_refused_or_cleaned_never_a_server_error(app, client):
    admin_client(client)
    token = csrf(client, "/admin/categories/new")
    cat = db.session.scalar(select(Category).where(Category.code == "garbage"))
    for hours in ("NaN", "sNaN", "Infinity", "1e999", "-1", " "):
        data = {
            "csrf_token": token,
            "code": "dog",
            "name_zh": "狗",
            "name_en": "Dog",
            "icon": "garbage",
            "accept_hours": hours,
            "resolve_hours": "10",
            "default_department_id": 0,
            "sort_order": "1",
        }
        assert client.post("/admin/categories/new", data=data).status_code == 400, hours
        assert client.post(f"/admin/categories/{cat.id}", data=data).status_code == 400, hours
    for path in (
        "/admin/users?team=abc&page=-1&state=zz&role=%3Cx%3E&q=%00",
        "/admin/audit?page=999&type=%00&action=%00",
        "/admin/users/99999",
        "/admin/grids/99999",
        "/admin/departments/99999",
        "/admin/templates/99999",
    ):
        # NUL characters are refused app-wide with a 400; rows that do not exist are a 404.
        assert client.get(path).status_code == (400 if "%00" in path else 404), path
    resp = client.post("/admin/departments/1/members", data={"csrf_token": token, "username": "nobody\x00"})
    assert resp.status_code == 400
    resp = client.post(
        "/admin/templates/new",
        data={
            "csrf_token": token,
            "target_status": "closed",
            "sort_order": "1",
            "text_zh": "已\x00修复",
            "text_en": "Fixed",
        },
    )
    assert resp.status_code == 400
    assert db.session.scalar(select(ResponseTemplate.id).where(ResponseTemplate.text_en == "Fixed")) is None
    resp = client.post(
        "/admin/templates/new",
        data={
            "csrf_token": token,
            "target_status": "closed",
            "sort_order": "1",
            "text_zh": "已\x07修复",
            "text_en": "Fixed\x07",
        },
    )
    assert resp.status_code == 302
    assert db.session.scalar(select(ResponseTemplate.text_zh).where(ResponseTemplate.text_en == "Fixed")) == "已修复"
    resp = client.post(
        "/admin/grids/import",
        content_type="multipart/form-data",
        data={"csrf_token": token, "file": geojson_upload(feature("Q-\x0001", SQUARE, "前\x00卫"))},
    )
    assert resp.status_code == 302
    assert db.session.scalar(select(Grid.name).where(Grid.code == "Q-01")) == "前卫"
