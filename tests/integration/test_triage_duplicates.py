"""Duplicate candidates: same category, within 100 m, within 14 days, not rejected, nearest first."""

from datetime import timedelta

import pytest
from geopy.distance import geodesic

from app.extensions import db
from app.models import Report, utcnow
from app.triage.duplicates import duplicate_candidates, nearby_open_reports
from tests import factories as f

ORIGIN = f.QIANWEI


def at(metres, bearing=0):
    p = geodesic(meters=metres).destination(ORIGIN, bearing)
    return p.latitude, p.longitude


@pytest.fixture
def scene(app):
    """A report at ORIGIN and reports around it; returns (report, {name: report})."""
    rider, _h = f.make_user("rider", token=True)
    now = utcnow()
    report = f.report_row(rider, at=now)
    around = {}

    def put(name, metres, bearing=0, category="illegal_parking", days_ago=1, **cols):
        lat, lon = at(metres, bearing)
        around[name] = f.report_row(
            rider, category=category, at=now - timedelta(days=days_ago), lat=lat, lon=lon, **cols
        )

    put("at_90m", 90, 45)
    put("at_110m", 110, 90)
    put("at_30m", 30, 200)
    put("at_60m_accepted", 60, 300, status="accepted")
    put("other_category", 20, 10, category="garbage")
    put("old_15_days", 40, 120, days_ago=15)
    put("recent_13_days", 50, 150, days_ago=13)
    put("rejected", 10, 0, status="rejected")
    put("duplicate", 15, 0, status="duplicate")
    put("closed", 70, 0, status="closed", outcome="fixed")
    return report, around


def names(found, around):
    by_id = {r.id: name for name, r in around.items()}
    return [by_id[r.id] for r, _d in found]


def test_candidates_are_same_category_within_radius_and_window_nearest_first(scene):
    report, around = scene
    found = duplicate_candidates(report)
    assert names(found, around) == ["at_30m", "recent_13_days", "at_60m_accepted", "closed", "at_90m"]
    distances = [d for _r, d in found]
    assert distances == sorted(distances)
    assert 89 < distances[-1] < 91


def test_candidate_at_110_m_is_found_with_a_wider_radius(scene):
    report, around = scene
    assert "at_110m" in names(duplicate_candidates(report, radius_m=120), around)


def test_radius_is_configurable(scene, app):
    report, around = scene
    app.config["DUPLICATE_RADIUS_M"] = 50
    assert names(duplicate_candidates(report), around) == ["at_30m", "recent_13_days"]


def test_duplicates_api_gives_distances_in_metres_to_staff_only(scene, client):
    report, around = scene
    _c, staff = f.make_user("coord", "coordinator", token=True)
    db.session.commit()
    body = client.get(f"/api/v1/reports/{report.id}/duplicates", headers=staff).get_json()
    assert [i["id"] for i in body["items"]] == [r.id for r, _d in duplicate_candidates(report)]
    assert body["items"][-1]["distance_m"] == pytest.approx(90, abs=1)
    assert body["radius_m"] == 100 and body["days"] == 14
    rider = f.bearer(f.api_token(db.session.get(type(report.user), report.user_id)))
    assert client.get(f"/api/v1/reports/{report.id}/duplicates", headers=rider).status_code == 403


def test_nearby_open_reports_for_a_rider_about_to_file(scene, client):
    _report, around = scene
    found = nearby_open_reports("illegal_parking", *ORIGIN, limit=10)
    # open only (not closed, rejected or duplicate), last 14 days before now, within 100 m, nearest first
    assert names(found, {**around, "self": _report}) == [
        "self",
        "at_30m",
        "recent_13_days",
        "at_60m_accepted",
        "at_90m",
    ]
    _u, rider = f.make_user("walker", token=True)
    db.session.commit()
    body = client.get(
        f"/api/v1/reports/nearby?category=illegal_parking&lat={ORIGIN[0]}&lon={ORIGIN[1]}", headers=rider
    ).get_json()
    assert [i["distance_m"] for i in body["items"]] == sorted(i["distance_m"] for i in body["items"])
    assert body["items"][0]["mine"] is False


def test_nearby_refuses_unknown_category_and_bad_location(client, app):
    _u, rider = f.make_user("walker", token=True)
    db.session.commit()
    bad = client.get("/api/v1/reports/nearby?category=nope&lat=29.2&lon=103.9", headers=rider)
    assert bad.status_code == 400
    off = client.get("/api/v1/reports/nearby?category=garbage&lat=99&lon=103.9", headers=rider)
    assert off.status_code == 400


def test_rider_adds_a_photo_to_an_open_report_nearby_and_follows_it(scene, client):
    import io

    _report, around = scene
    target = around["at_30m"]
    u, rider = f.make_user("passer_by", token=True)
    db.session.commit()
    lat, lon = at(40, 200)
    resp = client.post(
        f"/api/v1/reports/{target.id}/photos",
        headers=rider,
        content_type="multipart/form-data",
        data={"photos": (io.BytesIO(f.jpeg()), "me-too.jpg"), "lat": lat, "lon": lon},
    )
    assert resp.status_code == 201
    assert resp.get_json()["event"]["details"]["joined"] is True
    mine = client.get("/api/v1/reports?mine=1", headers=rider).get_json()
    assert [i["id"] for i in mine["items"]] == [target.id]


def test_rider_far_away_cannot_join_a_report(scene, client):
    import io

    _report, around = scene
    _u, rider = f.make_user("far_away", token=True)
    db.session.commit()
    lat, lon = at(5000)
    resp = client.post(
        f"/api/v1/reports/{around['at_30m'].id}/photos",
        headers=rider,
        content_type="multipart/form-data",
        data={"photos": (io.BytesIO(f.jpeg()), "x.jpg"), "lat": lat, "lon": lon},
    )
    assert resp.status_code == 403


def join(client, headers, report, photos=1, **fields):
    """POST /api/v1/reports/<id>/photos from beside the report, with `photos` photos."""
    import io

    data = {"lat": str(report.lat), "lon": str(report.lon), **fields}
    if photos:
        data["photos"] = [(io.BytesIO(f.jpeg()), f"p{i}.jpg") for i in range(photos)]
    return client.post(
        f"/api/v1/reports/{report.id}/photos", headers=headers, data=data, content_type="multipart/form-data"
    )


def test_joining_a_report_needs_a_photo_not_only_its_public_position(scene, client):
    _report, around = scene
    _u, rider = f.make_user("no_camera", token=True)
    db.session.commit()
    resp = join(client, rider, around["at_30m"], photos=0, comment="me too")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "photo_required"
    assert "photo" in resp.get_json()["error"]["message"]
    assert client.get(f"/api/v1/reports/{around['at_30m'].id}", headers=rider).status_code == 403  # not joined
    assert join(client, rider, around["at_30m"]).status_code == 201


def test_only_open_reports_filed_in_the_last_14_days_can_be_joined(scene, client, app):
    _report, around = scene
    _u, rider = f.make_user("late_comer", token=True)
    db.session.commit()
    for name, code in (
        ("closed", "report_closed"),
        ("rejected", "report_closed"),
        ("duplicate", "report_closed"),
        ("old_15_days", "report_too_old"),
    ):
        resp = join(client, rider, around[name])
        assert resp.status_code == 409 and resp.get_json()["error"]["code"] == code, name
        assert client.get(f"/api/v1/reports/{around[name].id}", headers=rider).status_code == 403, name
    assert "14 days" in join(client, rider, around["old_15_days"]).get_json()["error"]["message"]
    assert join(client, rider, around["recent_13_days"]).status_code == 201
    assert join(client, rider, around["at_60m_accepted"]).status_code == 201
    app.config["DUPLICATE_DAYS"] = 30  # the same window as the "already reported?" list
    assert join(client, rider, around["old_15_days"]).status_code == 201


def test_every_report_the_nearby_list_offers_can_be_joined(scene, client):
    """The "already reported?" list and the join refuse the same reports (closed, or filed too long ago)."""
    _report, around = scene
    _u, rider = f.make_user("checker", token=True)
    db.session.commit()
    offered = client.get(
        f"/api/v1/reports/nearby?category=illegal_parking&lat={ORIGIN[0]}&lon={ORIGIN[1]}", headers=rider
    ).get_json()["items"]
    assert offered
    for item in offered:
        assert join(client, rider, db.session.get(Report, item["id"])).status_code == 201, item["reference"]
