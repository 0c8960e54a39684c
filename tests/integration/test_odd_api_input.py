"""Odd input to the JSON API answers 400 with a message, never a 500 (PostgreSQL refuses NUL in text)."""

import pytest

from tests import factories


@pytest.fixture
def staff(app):
    coord = factories.make_user("coord1", "coordinator")
    rider = factories.make_user("rider1")
    report = factories.file_report(rider)
    return {"Authorization": f"Bearer {factories.api_token(coord)}"}, report


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/reports/nearby?category=%00&lat=29.2&lon=103.9",
        "/api/v1/reports?category=%00",
        "/api/v1/reports?department=%00",
        "/api/v1/reports?q=%00",
        "/api/v1/reports?from=0001-01-01&to=9999-12-31",
        "/api/v1/reports?grid=99999999999999999999",
        "/api/v1/reports?q=fine&q=%00",  # a repeated key: every value is checked, not only the first
    ],
)
def test_odd_query_arguments_are_400(client, staff, query):
    headers, _report = staff
    r = client.get(query, headers=headers)
    assert r.status_code == 400 and r.json["error"]["message"]


@pytest.mark.parametrize(
    "path,body",
    [
        ("transitions", {"to": "accepted", "version": 1, "note": "\u0000"}),
        ("transitions", {"to": "duplicate", "version": 1, "duplicate_of": "\u0000"}),
        ("comments", {"note": "\u0000 hi"}),
        ("comments", {"note": ["x"]}),
    ],
)
def test_odd_json_bodies_are_400_and_change_nothing(client, staff, path, body):
    headers, report = staff
    r = client.post(f"/api/v1/reports/{report.id}/{path}", json=body, headers=headers)
    assert r.status_code == 400 and r.json["error"]["message"]
    events = client.get(f"/api/v1/reports/{report.id}/events", headers=headers).json["events"]
    assert len(events) == 1  # only the filing


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_dates_at_the_calendars_ends_are_answered_not_a_server_error(client, staff, fmt):
    """Year 1 at +14:00 or year 9999 at -14:00 is outside the calendar once in UTC: no bound on that side."""
    _headers, report = staff
    for query in (
        "start_date=0001-01-01T00:00:00%2B14:00",
        "end_date=9999-12-31T23:59:59-14:00",
        "start_date=9999-12-31T23:59:59-14:00",
        "end_date=0001-01-01T00:00:00 14:00",
        "start_date=0001-01-01T00:00:00%2B14:00&end_date=0001-01-01T00:00:00%2B14:00",
    ):
        r = client.get(f"/open311/v2/requests.{fmt}?{query}")
        assert r.status_code == 200, query
        assert report.reference not in r.get_data(as_text=True), query  # filed today: outside every window here


@pytest.mark.parametrize("path", ["transitions", "comments"])
def test_json_nested_too_deep_or_with_a_lone_surrogate_is_400_and_changes_nothing(client, staff, path):
    headers, report = staff
    for body in (
        b"[" * 100_000 + b"]" * 100_000,
        b"[" * 900 + b"]" * 900,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
        b'{"to": "accepted", "version": 1, "note": "\\ud800"}',
    ):
        r = client.post(
            f"/api/v1/reports/{report.id}/{path}", data=body, content_type="application/json", headers=headers
        )
        assert r.status_code == 400 and r.json["error"]["message"], body[:20]
    events = client.get(f"/api/v1/reports/{report.id}/events", headers=headers).json["events"]
    assert len(events) == 1  # only the filing


def test_open311_page_numbers_are_ascii_digits(client):
    """int() reads "1_0" as 10 and a full-width "１" as 1: those are refused, not read as something else."""
    for query in ("page=1_0", "page_size=%EF%BC%91", "page=%C2%B2", "page_size=%2B5"):
        r = client.get(f"/open311/v2/requests.json?{query}")
        assert r.status_code == 400 and "must be a whole number" in r.json[0]["description"], query


def test_a_riders_page_numbers_are_ascii_digits(client, app):
    """int() read page=1_0 as page 10 and per_page=0_5 as 5 on a rider's own list."""
    rider = factories.make_user("rider9", token=True)[1]
    for query in ("page=1_0", "per_page=0_5", "page=%EF%BC%92"):
        r = client.get(f"/api/v1/reports?{query}", headers=rider)
        assert r.status_code == 400 and r.json["error"]["message"] == "page and per_page must be whole numbers.", query
