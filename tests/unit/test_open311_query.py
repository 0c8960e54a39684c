"""GET requests arguments (Open311): the default window, the 90-day limit, page sizes, ids first."""

from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from app.api.open311_services import MAX_PAGE_SIZE, parse_query
from app.errors import ValidationFailed

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def q(**args):
    return parse_query(MultiDict(args), now=NOW)


def test_default_is_the_last_90_days_and_at_most_1000_rows():
    query = q()
    assert MAX_PAGE_SIZE == 1000
    assert (query.start, query.end, query.page, query.page_size) == (NOW - timedelta(days=90), None, 1, 1000)


def test_one_date_opens_a_90_day_window_from_it():
    start = q(start_date="2026-01-01T00:00:00Z")
    assert start.end - start.start == timedelta(days=90)
    end = q(end_date="2026-06-01T08:00:00+08:00")
    assert end.end == datetime(2026, 6, 1, 0, 0, tzinfo=UTC) and end.end - end.start == timedelta(days=90)


def test_a_range_of_exactly_90_days_is_allowed_and_one_second_more_is_not():
    assert q(start_date="2026-01-01T00:00:00Z", end_date="2026-04-01T00:00:00Z").start is not None
    with pytest.raises(ValidationFailed, match="at most 90 days"):
        q(start_date="2026-01-01T00:00:00Z", end_date="2026-04-01T00:00:01Z")


def test_dates_without_offset_are_utc_and_unencoded_plus_still_reads_as_an_offset():
    assert q(start_date="2026-01-01T00:00:00").start == datetime(2026, 1, 1, tzinfo=UTC)
    assert q(start_date="2026-01-01T08:00:00 08:00").start == datetime(2026, 1, 1, tzinfo=UTC)


def test_service_request_ids_override_every_other_argument():
    query = q(service_request_id="GS-2026-000001, GS-2026-000002", status="bogus", start_date="nonsense")
    assert query.ids == ["GS-2026-000001", "GS-2026-000002"] and query.start is None and query.statuses is None


def test_status_and_codes_are_comma_lists():
    query = q(status="closed,open", service_code="noise,garbage")
    assert query.statuses == ["closed", "open"] and query.codes == ["noise", "garbage"]


@pytest.mark.parametrize(
    "args",
    [
        {"page_size": "0"},
        {"page_size": "1001"},
        {"page": "-1"},
        {"page": "x"},
        {"bbox": "1,2,3,nan"},
        {"status": "pending"},
        {"end_date": "2026-02-30"},
    ],
)
def test_bad_arguments_are_refused(args):
    with pytest.raises(ValidationFailed):
        q(**args)


def test_repeated_keys_mean_the_same_as_the_comma_form():
    repeated = parse_query(MultiDict([("status", "open"), ("status", "closed"), ("service_code", "noise")]), now=NOW)
    comma = q(status="open,closed", service_code="noise")
    assert (repeated.statuses, repeated.codes) == (comma.statuses, comma.codes) == (["closed", "open"], ["noise"])
    ids = parse_query(MultiDict([("service_request_id", "GS-2026-000001"), ("service_request_id", "GS-2026-000002")]))
    assert ids.ids == ["GS-2026-000001", "GS-2026-000002"]
    with pytest.raises(ValidationFailed, match="status must be"):
        parse_query(MultiDict([("status", "open"), ("status", "pending")]), now=NOW)
