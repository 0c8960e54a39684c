"""Every route against every role: anonymous, rider (owner and not), handler, coordinator, admin.

The routes are read from the app's URL map, so a new route is covered the moment it exists: each GET
is requested by each role and must answer what its area allows (never a 5xx); each POST is sent by
an anonymous caller without a CSRF token and by a rider with one, and staff/admin POSTs must refuse
the rider with 403.
"""

import io
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Category, Department, Photo, Team
from tests import factories
from tests.conftest import fixture_bytes

ROLES = ["anonymous", "rider", "other_rider", "handler", "coordinator", "admin"]

# Areas by path: who may GET them.
PUBLIC = (
    "/login",
    "/healthz",
    "/readyz",
    "/manifest.webmanifest",
    "/sw.js",
    "/static/",
    "/open311/",
    "/api/docs",
    "/api/v1/openapi.json",
    "/join/",
    "/lang/",
    "/verify/",  # a receipt's check page: anyone who scans its code
    "/.well-known/",
)
ADMIN = ("/admin",)
STAFF = ("/board", "/summaries", "/api/v1/reports/<int:report_id>/duplicates")
HANDLERS = ("/tasks",)
# Riders only ("Fixed? Take a look" near them; 400 without a position).
RIDERS = ("/api/v1/reports/fixed-nearby",)
# Team management and other riders' profiles: coordinators and admins (team leaders for their team).
MANAGERS = ("/riders/", "/teams/invites/")
# A report's receipt: the rider who filed it, nobody else (staff neither).
FILERS = ("/reports/<int:report_id>/receipt", "/api/v1/reports/<int:report_id>/receipt")
# The rider's own report: its owner and the staff see it; another rider does not.
OWNED = (
    "/reports/<int:report_id>",
    "/api/v1/reports/<int:report_id>",
    "/photos/<int:photo_id>",
    "/voice/<int:report_id>",
)


def area(rule: str) -> str:
    for name, prefixes in (
        ("public", PUBLIC),
        ("admin", ADMIN),
        ("staff", STAFF),
        ("handlers", HANDLERS),
        ("riders", RIDERS),
        ("managers", MANAGERS),
        ("filers", FILERS),
        ("owned", OWNED),
    ):
        if rule.startswith(prefixes):
            return name
    return "login"


@pytest.fixture
def world(app):
    """One of each role, a report by the rider with a photo, and a team."""
    # The handler works for another department than the one the report goes to: it is not theirs.
    report_dept = db.session.scalar(select(Category).where(Category.code == "illegal_parking")).default_department_id
    dept = db.session.scalar(select(Department).where(Department.id != report_dept))
    users = {
        "rider": factories.make_user("rider1", team="犍路先锋"),
        "other_rider": factories.make_user("rider2"),
        "handler": factories.make_user("handler1", "handler", department_id=dept.id),
        "coordinator": factories.make_user("coord1", "coordinator"),
        "admin": factories.make_user("admin1", "admin"),
    }
    report = factories.file_report(users["rider"], voice=io.BytesIO(fixture_bytes("audio/voice-3s.webm")))
    photo = db.session.scalar(select(Photo).where(Photo.report_id == report.id))
    team = db.session.scalar(select(Team))
    values = {
        "report_id": report.id,
        "photo_id": photo.id,
        "user_id": users["rider"].id,
        "team_id": team.id,
        "category_id": 1,
        "department_id": dept.id,
        "template_id": 1,
        "grid_id": 1,
        "invite_id": 1,
        "token_id": 1,
        "token": "no-such-invite",
        "code": "illegal_parking",
        "name": "2026-W48",
        "service_request_id": report.reference,
        "filename": "css/app.css",
        "variant": "thumb",
        "fmt": "json",
    }
    return users, values


def concrete(rule, values) -> str | None:
    def fill(m):
        name = m.group(2)
        if m.group(1) and m.group(1).startswith("any("):
            return re.findall(r"\w+", m.group(1)[4:])[0]
        return str(values.get(name, 1))

    return re.sub(r"<(?:([^:>]+):)?(\w+)>", fill, rule)


def get_routes(app):
    return sorted({r.rule for r in app.url_map.iter_rules() if "GET" in r.methods})


def as_role(app, role, users):
    from tests.conftest import FreshContextClient

    app.test_client_class = FreshContextClient
    client = app.test_client()
    if role != "anonymous":
        factories.log_in(client, users[role].username)
    return client


def expected(rule: str, role: str) -> set[int] | None:
    """The statuses a role may get for a GET of this rule (None: anything below 500)."""
    kind = area(rule)
    api = rule.startswith("/api/")
    refused = {401} if api else {302}
    if kind == "public":
        return None
    if role == "anonymous":
        return refused
    if kind == "admin":
        return {200, 302, 404} if role == "admin" else {403}
    if kind == "managers":
        return {200, 404} if role in ("coordinator", "admin") else {403, 404}
    if kind == "staff":
        return {200, 302, 404} if role in ("coordinator", "admin") else {403}
    if kind == "handlers":
        return {200} if role in ("handler", "coordinator", "admin") else {403}
    if kind == "riders":
        return {400} if role in ("rider", "other_rider") else {403}
    if kind == "filers":
        return {200} if role == "rider" else {403}
    if kind == "owned":
        if role in ("rider", "coordinator", "admin"):
            return {200, 302}
        return {403, 404}
    return None


def test_every_get_route_answers_each_role_as_its_area_allows(app, world):
    users, values = world
    failures = []
    for role in ROLES:
        client = as_role(app, role, users)
        for rule in get_routes(app):
            if rule in ("/logout",):
                continue
            url = concrete(rule, values)
            r = client.get(url, headers={"Accept": "application/json"} if rule.startswith("/api/") else {})
            allowed = expected(rule, role)
            if (
                r.status_code >= 500
                or (allowed is not None and r.status_code not in allowed)
                or (allowed is None and role != "anonymous" and r.status_code in (401, 403) and area(rule) == "login")
            ):
                failures.append(f"{role:12} GET {url} -> {r.status_code} (allowed {sorted(allowed or [])})")
            if role == "anonymous" and allowed == {302}:
                assert "/login" in r.headers.get("Location", ""), url
    assert failures == [], "\n".join(failures)


def test_every_post_route_refuses_anonymous_callers_and_riders_where_it_must(app, world):
    users, values = world
    rules = sorted({r.rule for r in app.url_map.iter_rules() if "POST" in r.methods})
    anon = as_role(app, "anonymous", users)
    rider = as_role(app, "rider", users)
    token = factories.csrf_from(rider.get("/profile").get_data(as_text=True))
    failures = []
    for rule in rules:
        url = concrete(rule, values)
        r = anon.post(url, data={})
        if r.status_code >= 500 or r.status_code in (200, 201):
            failures.append(f"anonymous POST {url} -> {r.status_code}")
        if area(rule) in ("admin", "staff") or rule.startswith(("/teams/", "/board")):
            r = rider.post(url, data={"csrf_token": token}, headers={"X-CSRFToken": token})
            if r.status_code != 403:
                failures.append(f"rider POST {url} -> {r.status_code} (want 403)")
    assert failures == [], "\n".join(failures)
