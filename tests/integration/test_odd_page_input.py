"""Odd input to pages, forms and commands: a clear 400/404 (or the true, empty answer), never a 500.

Ids past the Integer columns, page numbers past any page, '²' (a digit to str.isdigit() but not to int()),
JSON true or 1.5 where a number is meant, weeks and dates in year 1 or 9999: SQLite overflows on them,
PostgreSQL refuses them, and int() quietly turns true and 1.5 into 1.
"""

import io
import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CoReporter, Report, ReportEvent
from tests import factories

HUGE = "99999999999999999999"  # past 64 bits
INT8 = "9223372036854775808"  # 2**63: past SQLite's integers
INT4 = "2147483648"  # 2**31: past PostgreSQL's integer columns
SUPER2 = "%C2%B2"  # '²'


@pytest.fixture
def people(app):
    """A handler (the first user: id 1), a coordinator, an admin, two riders, and rider1's report."""
    users = {
        "handler": factories.make_user("handler1", "handler"),
        "coordinator": factories.make_user("coord1", "coordinator"),
        "admin": factories.make_user("admin1", "admin"),
        "rider": factories.make_user("rider1", team="犍路先锋"),
        "rider2": factories.make_user("rider2", team="犍路先锋"),
    }
    return users, factories.report_row(users["rider"])


def as_(client, users, role):
    factories.log_in(client, users[role])
    return client


def token(client) -> str:
    return factories.csrf_from(client.get("/profile").get_data(as_text=True))


def state(report_id):
    """What a refused request must leave as it was: the report's status and version, and its events."""
    db.session.expire_all()
    r = db.session.get(Report, report_id)
    events = db.session.scalar(select(func.count()).select_from(ReportEvent).where(ReportEvent.report_id == r.id))
    followers = db.session.scalar(select(func.count()).select_from(CoReporter).where(CoReporter.report_id == r.id))
    return r.status, r.version, r.assignee_id, r.department_id, events, followers


# (path, status, a phrase of the message), by who asks
PAGES = {
    "rider": [
        (f"/mine?page={HUGE}", 400, "page must be a whole number from 1 to 1000000"),
        ("/mine?page=-1", 400, "page must be a whole number from 1 to 1000000"),
        ("/mine?page=abc", 400, "The page number must be a whole number."),
        ("/leaderboard?period=year", 400, "period must be week or month."),  # was this week, unsaid
    ],
    "coordinator": [
        (f"/board?page={INT8}", 400, "page must be 1 or more"),
        ("/board?page=1_0", 400, "must be whole numbers"),  # int() reads it as 10
        (f"/board?assignee={INT4}", 400, "assignee must be a user number or none."),
        (f"/board?assignee={SUPER2}", 400, "assignee must be a user number or none."),
        (f"/board/map.json?assignee={HUGE}", 400, "assignee must be a user number or none."),
        (f"/api/v1/reports?assignee={INT8}", 400, "assignee must be a user number or none."),
        ("/board?overdue=maybe", 400, "overdue must be 1 or 0."),  # was quietly "not overdue"
        ("/api/v1/reports?mine=maybe", 400, "mine must be 1 or 0."),
        (f"/summaries/?page={INT4}", 400, "page must be a whole number from 1 to 1000."),
        ("/summaries/0001-W01", 404, "There are no summaries before 1900."),
        ("/summaries/0001-W01.json", 404, "There are no summaries before 1900."),
        ("/summaries/0001-W02.csv", 404, "There are no summaries before 1900."),
        ("/summaries/2026-W%D9%A1%D9%A2", 400, "A week is named like 2026-W48"),  # Arabic-Indic 12: was week 12
    ],
    "admin": [
        (f"/admin/users?team={INT4}", 400, "team must be a whole number from 1 to 2147483647."),
        (f"/admin/users?page={INT8}", 400, "page must be a whole number"),
        (f"/admin/audit?actor={HUGE}", 400, "actor must be a whole number from 1 to 2147483647."),
        ("/admin/audit?from=0001-01-01", 400, "from must be a date between 1900 and 2999."),
        ("/admin/audit?to=9999-12-31", 400, "to must be a date between 1900 and 2999."),
        ("/admin/audit?from=garbage", 400, "from is not a date (YYYY-MM-DD)."),
        ("/admin/users?role=god", 400, "Unknown role."),  # unknown filters listed everyone
        ("/admin/users?state=asleep", 400, "state must be active or inactive."),
    ],
}


@pytest.mark.parametrize("role", PAGES)
def test_odd_page_arguments_are_refused_with_a_message(client, people, role):
    users, _report = people
    as_(client, users, role)
    wrong = []
    for path, status, message in PAGES[role]:
        r = client.get(path)
        if r.status_code != status or message not in r.get_data(as_text=True):
            wrong.append(f"{path} -> {r.status_code}")
    assert wrong == []


def test_mine_0_is_not_mine(client, people):
    """A coordinator's mine=0 is the board's list (with counts per status), as without it; mine=1 their own."""
    users, _report = people
    as_(client, users, "coordinator")
    assert "counts" in client.get("/api/v1/reports?mine=0").json
    assert "counts" in client.get("/api/v1/reports").json
    assert "counts" not in client.get("/api/v1/reports?mine=1").json


def test_a_nul_character_in_a_url_part_is_400(client, people):
    """PostgreSQL refuses NUL in text: an invite token with one never reaches the query."""
    assert client.get("/join/ab%00cd").status_code == 400
    assert client.post("/join/ab%00cd", data={"display_name": "x"}).status_code == 400


def test_a_department_number_past_any_row_finds_no_reports(client, people):
    users, report = people
    as_(client, users, "coordinator")
    assert f'data-id="{report.id}"' in client.get("/board").get_data(as_text=True)  # listed without the filter
    for path in (
        f"/board?department={HUGE}",
        f"/board?department={SUPER2}",
        f"/api/v1/reports?department={INT4}",
        f"/board/map.json?department={INT8}",
    ):
        r = client.get(path)
        assert r.status_code == 200, path
        if r.is_json:
            assert r.json.get("items", r.json.get("points")) == [], path
        else:  # the filter was applied, not dropped
            assert f'data-id="{report.id}"' not in r.get_data(as_text=True), path


def test_ids_past_the_integer_columns_are_404(client, people):
    users, _report = people
    as_(client, users, "admin")
    for number in (HUGE, INT8, INT4):
        for path in (
            "/reports/{}",
            "/api/v1/reports/{}",
            "/board/reports/{}",
            "/photos/{}/thumb.jpg",
            "/open311/media/{}.jpg",
            "/teams/{}",
            "/riders/{}",
            "/admin/users/{}",
            "/teams/invites/{}/qr.svg",
        ):
            assert client.get(path.format(number)).status_code == 404, path.format(number)


MOVES = [  # (status, to, field, value)
    ("submitted", "accepted", "version", float("inf")),
    ("submitted", "accepted", "version", 1.5),  # int() read it as 1: the move went through
    ("submitted", "accepted", "version", True),  # int(True) is 1 as well
    ("accepted", "assigned", "assignee", float("inf")),
    ("accepted", "assigned", "assignee", 10**20),
    ("accepted", "assigned", "assignee", True),  # was user 1, the handler
    ("accepted", "assigned", "department", "²"),
    ("accepted", "assigned", "department", HUGE),
    ("submitted", "duplicate", "duplicate_of", "²"),
    ("submitted", "duplicate", "duplicate_of", INT8),
]


def test_odd_numbers_in_a_move_are_400_and_change_nothing(client, people):
    users, _report = people
    as_(client, users, "coordinator")
    headers = {"X-CSRFToken": token(client)}
    for status, to, field, value in MOVES:
        report = factories.report_row(users["rider"], status=status)
        before = state(report.id)
        r = client.post(
            f"/api/v1/reports/{report.id}/transitions",
            headers=headers,
            json={"to": to, "version": report.version, "note": "n", field: value},
        )
        assert r.status_code == 400 and r.json["error"]["code"] != "csrf", (field, value)
        assert r.json["error"]["message"] and state(report.id) == before, (field, value)


def test_odd_numbers_in_the_board_move_form_are_400_and_change_nothing(client, people):
    users, _report = people
    as_(client, users, "coordinator")
    csrf = token(client)
    for to, field, value in (
        ("assigned", "department", "²"),
        ("assigned", "department", INT8),
        ("assigned", "assignee", HUGE),
        ("duplicate", "duplicate_of", "²"),
    ):
        report = factories.report_row(users["rider"], status="accepted")
        before = state(report.id)
        r = client.post(
            f"/board/reports/{report.id}/transition",
            data={"csrf_token": csrf, "to": to, "version": str(report.version), field: value},
        )
        assert r.status_code == 400 and state(report.id) == before, (field, value)


def test_bulk_actions_with_odd_numbers_answer_without_a_server_error(client, people):
    users, report = people
    as_(client, users, "coordinator")
    base = {"csrf_token": token(client), "action": "priority", "priority": "high"}
    before = state(report.id)
    for ids in (HUGE, INT8):  # numbers past any report
        r = client.post("/board/bulk", data={**base, "ids": ids})
        assert r.status_code == 400 and "Select reports by their numbers." in r.get_data(as_text=True)
        assert state(report.id) == before
    # An unreadable version refuses that row (it used to be dropped, and the row changed unchecked).
    r = client.post("/board/bulk", data={**base, "ids": str(report.id), f"v_{report.id}": "²"})
    assert r.status_code == 302 and state(report.id) == before
    assert "The report&#39;s version is missing" in client.get("/board").get_data(as_text=True)


def test_joining_a_report_from_an_impossible_place_is_400_and_writes_nothing(client, people):
    users, report = people
    as_(client, users, "rider2")
    headers = {"X-CSRFToken": token(client)}
    before = state(report.id)
    for lat, lon in (("100", "103.95"), ("nan", "103.95"), ("29.2", "inf"), ("1e309", "1")):
        r = client.post(
            f"/api/v1/reports/{report.id}/photos",
            headers=headers,
            data={"comment": "still there", "lat": lat, "lon": lon},
        )
        assert r.status_code == 400 and r.json["error"]["message"] == "The location is out of range.", (lat, lon)
        assert state(report.id) == before


SQUARE = [[[103.94, 29.20], [103.96, 29.20], [103.96, 29.22], [103.94, 29.22], [103.94, 29.20]]]


def grid_file(properties) -> bytes:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": properties, "geometry": {"type": "Polygon", "coordinates": SQUARE}}
            ],
        }
    ).encode()


GRID_FILES = [  # (file, a phrase of the message)
    (b"[" * 100_000 + b"]" * 100_000, "The file is not valid JSON"),  # json.loads: RecursionError
    (grid_file(["Q-01"]), "properties.code is required"),  # properties a list: .get() failed
    (grid_file({"code": ["Q-01"]}), "properties.code is required"),  # was imported as "['Q-01']"
    (grid_file({"code": "Q-01", "name": {"zh": "前卫"}}), "properties.name must be text"),  # was "{'zh': '前卫'}"
    (grid_file({"code": "Q-01", "name": "x" * 121}), "properties.name must be text"),  # was cut to 120 unsaid
]


def test_odd_grid_files_are_refused_and_import_nothing(client, people):
    from app.grids.models import Grid

    users, _report = people
    as_(client, users, "admin")
    csrf = factories.csrf_from(client.get("/admin/grids").get_data(as_text=True))
    for body, message in GRID_FILES:
        r = client.post(
            "/admin/grids/import",
            content_type="multipart/form-data",
            data={"csrf_token": csrf, "file": (io.BytesIO(body), "grids.geojson")},
        )
        assert r.status_code == 400 and message in r.get_data(as_text=True), (body[:40], r.status_code)
    assert db.session.scalar(select(func.count()).select_from(Grid)) == 0


COMMANDS = [  # (arguments, exit code, a phrase of the message)
    (["summary", "0001-W01"], 1, "There are no summaries before 1900."),
    (["summary", "2026-W47", "--output", "/nonexistent/dir/x.json"], 1, "cannot write /nonexistent/dir/x.json"),
    (["grids", "export", "--output", "/nonexistent/dir/g.geojson"], 1, "cannot write /nonexistent/dir/g.geojson"),
    (["storage", "check", "--older-than", HUGE], 2, "is not in the range"),
    (["storage", "migrate", "--from", "s3", "--to", "local"], 1, "GRIDSNAP_STORAGE_BUCKET is required"),
    (["backup", "create", "--output", "/proc/no/such/folder"], 1, "cannot write the backup into /proc/no"),
    (["db", "copy", "--to", "garbage://"], 1, "cannot use the target database"),
    (["db", "copy", "--to", "sqlite:////nonexistent/dir/x.db"], 1, "cannot use the target database"),
    (["demo", "load", "--reports", "-5"], 2, "is not in the range x>=0"),
    (
        ["user", "create", "bob1", "--password", "password123", "--display-name", "x" * 81],
        1,
        "A display name of 1 to 80 characters is required.",
    ),
    (
        ["user", "create", "bob2", "--password", "password123", "--team", "x" * 81],
        1,
        "A team name of 1 to 80 characters is required.",
    ),
]


def test_commands_with_bad_arguments_say_why_and_exit_non_zero(app, runner, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "STORAGE_BUCKET", "")
    monkeypatch.setitem(app.config, "BABEL_DEFAULT_LOCALE", "en")
    manifests = []
    for name, content in (("broken", b"{"), ("list", b"[]"), ("latin1", b"\xff\xfe"), ("bare", b'{"format": 1}')):
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_bytes(content)
        manifests.append((["backup", "restore", str(tmp_path / name)], 1, "manifest.json"))
    for args, code, message in COMMANDS + manifests:
        r = runner.invoke(args=args)
        assert r.exception is None or isinstance(r.exception, SystemExit), (args, r.exception)  # no traceback
        assert r.exit_code == code and message in r.output, (args, r.output)
