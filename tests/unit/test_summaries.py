"""Weekly summaries' pure parts: week names and bounds in local time, quantiles, hotspot clusters.

The figures of a known history, which need the database, are in tests/integration/test_summaries.py.
"""

from datetime import UTC, datetime

import pytest

from app.errors import NotFound, ValidationFailed
from app.summaries import hotspots
from app.summaries.services import quantile
from app.summaries.weeks import last_complete_week, parse_week, week_of
from tests.expectations import SHANGHAI as SH
from tests.expectations import W48_NOW as NOW
from tests.expectations import w48_at as at

# ---- week names and bounds -------------------------------------------------------------


def test_week_names_parse_and_bound_in_local_time():
    w = parse_week("2025-W48", SH, NOW)
    assert (w.start, w.end) == (at(0), at(7))
    assert w.start.astimezone(UTC) == datetime(2025, 11, 23, 16, 0, tzinfo=UTC)


def test_sunday_2359_and_monday_0000_in_shanghai_are_different_weeks():
    assert week_of(at(-1, 23, 59), SH).name == "2025-W47"
    assert week_of(at(0, 0, 0), SH).name == "2025-W48"
    # the same instants in UTC are both on Sunday 23 November
    assert at(-1, 23, 59).astimezone(UTC).date() == at(0).astimezone(UTC).date()


def test_week_53_exists_only_in_long_years():
    # ISO years that begin on a Thursday (2020, 2026) or leap years that begin on a Wednesday have 53 weeks;
    # 2025 began on a Wednesday and is not a leap year.
    later = datetime(2030, 1, 1, tzinfo=SH)
    assert parse_week("2020-W53", SH, NOW).start == datetime(2020, 12, 28, tzinfo=SH)
    assert parse_week("2026-W53", SH, later).start == datetime(2026, 12, 28, tzinfo=SH)
    for name in ("2025-W53", "2027-W53", "2025-W00"):
        with pytest.raises(NotFound) as err:
            parse_week(name, SH, later)
        assert err.value.code == "no_such_week"


@pytest.mark.parametrize("name", ["2025-48", "2025W48", "25-W48", "2025-W4", "2025-w48", "", "2025-W48x"])
def test_malformed_week_names_are_refused(name):
    with pytest.raises(ValidationFailed):
        parse_week(name, SH, NOW)


def test_weeks_that_have_not_started_are_not_found():
    with pytest.raises(NotFound) as err:
        parse_week("2025-W51", SH, NOW)
    assert err.value.code == "future_week"  # it exists, it just has not begun: say so
    assert parse_week("2025-W50", SH, at(14, 0, 0)).name == "2025-W50"  # from its first instant on
    with pytest.raises(NotFound):
        parse_week("2025-W50", SH, at(13, 23, 59, 59))


def test_last_complete_week_is_the_one_before_now():
    assert last_complete_week(SH, NOW).name == "2025-W48"
    assert last_complete_week(SH, at(7, 0, 0)).name == "2025-W48"
    assert last_complete_week(SH, at(6, 23, 59)).name == "2025-W47"


def test_quantile_interpolates_between_ranks():
    assert quantile([30, 1, 6], 0.5) == 6
    assert quantile([1, 6, 30], 0.9) == pytest.approx(25.2)
    assert quantile([5], 0.9) == 5
    assert quantile([], 0.5) is None


# ---- hotspots ----------------------------------------------------------------------------


def _offset(lat, lon, north_m, east_m):
    import math

    return lat + north_m / 111_195, lon + east_m / (111_195 * math.cos(math.radians(lat)))


def _points(specs):
    """(lat, lon, category, grid) rows as the columns hotspots.clusters takes."""
    from app.reports.geo import cell_of

    lats, lons, cats, grids = (list(col) for col in zip(*specs, strict=False))
    return lats, lons, [cell_of(lat, lon) for lat, lon in zip(lats, lons, strict=False)], cats, grids


def test_hotspots_group_reports_within_150_m_largest_first():
    a, b = (29.2089, 103.9512), (29.2189, 103.9612)  # about 1.5 km apart
    specs = [
        (*_offset(*a, n, e), 1 if i < 3 else 2, 7)
        for i, (n, e) in enumerate([(0, 0), (40, 10), (-30, 50), (20, -60), (-50, -20)])
    ]
    specs += [(*_offset(*b, n, e), 3, None) for n, e in [(0, 0), (60, 0), (0, -60)]]
    specs += [(*_offset(*a, 3000, 0), 4, None)]  # alone
    found = hotspots.clusters(*_points(specs))
    assert [c.count for c in found] == [5, 3]
    assert (found[0].category_id, found[0].category_count, found[0].grid_id) == (1, 3, 7)
    assert found[0].lat == pytest.approx(a[0], abs=0.0005) and found[0].lon == pytest.approx(a[1], abs=0.0005)
    assert found[1].category_id == 3


def test_hotspot_radius_is_150_m_geodesic():
    a = (29.2089, 103.9512)
    near = _points([(*a, 1, None), (*_offset(*a, 0, 140), 1, None)])
    far = _points([(*a, 1, None), (*_offset(*a, 0, 160), 1, None)])
    assert [c.count for c in hotspots.clusters(*near)] == [2]
    assert hotspots.clusters(*far) == []


def test_hotspots_keep_only_the_top_n():
    base = (29.2089, 103.9512)
    specs = []
    for k in range(6):  # six separate pairs, 1 km apart, and one triple
        centre = _offset(*base, 1000 * k, 0)
        specs += [(*centre, 1, None), (*_offset(*centre, 10, 10), 1, None)]
    specs += [(*_offset(*base, 0, 5000), 2, None)] * 3
    found = hotspots.clusters(*_points(specs), limit=3)
    assert [c.count for c in found] == [3, 2, 2]
