"""Passers-by: "Fixed? Take a look" near a report resolved lately, counted as a verification under the points
rules; and the riders told of the points and badges they earn."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import CoReporter, Photo, ReportEvent, utcnow
from app.notify.delivery import deliver_due
from app.notify.messages import Kind, render
from app.notify.models import Notification
from app.teams import points
from app.triage.confirmation import look, resolved_nearby
from app.triage.workflow import Status
from tests.factories import QIANWEI, api_token, bearer, file_report, history, jpeg, make_user, report_row

NEAR = (QIANWEI[0] + 0.0009, QIANWEI[1])  # ~100 m north
FAR = (QIANWEI[0] + 0.0027, QIANWEI[1])  # ~300 m north


def resolved_report(rider, at=None, **kw):
    """A report of `rider` resolved at `at` (now by default), through the real workflow."""
    at = at or utcnow()
    r = report_row(rider, at=at - timedelta(hours=3), **kw)
    return history(r, [("accepted", at - timedelta(hours=2)), ("assigned", at - timedelta(hours=1)), ("resolved", at)])


@pytest.fixture
def scene(app):
    owner = make_user("owner")
    passer = make_user("passer")
    r = resolved_report(owner)
    return r, owner, passer


def kinds_for(user) -> list[str]:
    return list(
        db.session.scalars(select(Notification.kind).where(Notification.user_id == user.id).order_by(Notification.id))
    )


def test_what_a_passer_by_is_offered(app, scene):
    r, owner, passer = scene
    assert [(x.id, round(d, -1)) for x, d in resolved_nearby(passer, *NEAR)] == [(r.id, 100)]
    assert resolved_nearby(passer, *FAR) == [], "beyond 200 m"
    assert resolved_nearby(owner, *NEAR) == [], "never one's own"
    co = make_user("co")
    db.session.add(CoReporter(report_id=r.id, user_id=co.id))
    db.session.commit()
    assert resolved_nearby(co, *NEAR) == [], "nor one they co-report"
    assert resolved_nearby(passer, *NEAR, now=r.resolved_at + timedelta(days=14, seconds=1)) == [], "14 days"
    assert resolved_nearby(passer, *NEAR, now=r.resolved_at + timedelta(days=13, hours=23))
    # Open reports are not "fixed"; nor are reports closed as anything but fixed.
    open_one = report_row(owner)
    history(open_one, [("accepted", utcnow())])
    not_fixed = resolved_report(owner)
    history(not_fixed, [("closed", utcnow() + timedelta(minutes=1), {"outcome": "unable_to_fix"})])
    fixed = resolved_report(owner)
    history(fixed, [("closed", utcnow() + timedelta(minutes=1), {"outcome": "fixed"})])
    offered = {x.id for x, _d in resolved_nearby(passer, *NEAR, limit=10)}
    assert offered == {r.id, fixed.id}
    look(r, passer, fixed=True, lat=NEAR[0], lon=NEAR[1])
    db.session.commit()
    assert {x.id for x, _d in resolved_nearby(passer, *NEAR, limit=10)} == {fixed.id}, "looked at already"


def post(client, r, headers, **body):
    return client.post(f"/api/v1/reports/{r.id}/verification", headers=headers, json=body)


def test_the_verification_api_matrix(app, client, scene):
    r, owner, passer = scene
    at = {"lat": NEAR[0], "lon": NEAR[1]}
    coord = make_user("coord9", role="coordinator")
    co = make_user("co")
    db.session.add(CoReporter(report_id=r.id, user_id=co.id))
    db.session.commit()
    me = bearer(api_token(passer))

    listed = client.get(f"/api/v1/reports/fixed-nearby?lat={NEAR[0]}&lon={NEAR[1]}", headers=me).get_json()
    assert [i["reference"] for i in listed["items"]] == [r.reference] and listed["radius_m"] == 200
    assert client.get("/api/v1/reports/fixed-nearby", headers=me).status_code == 400
    assert client.get("/api/v1/reports/fixed-nearby?lat=1&lon=1", headers=bearer(api_token(coord))).status_code == 403

    def refused(headers, status, code, **body):
        answer = post(client, r, headers, **body)
        assert answer.status_code == status, answer.get_json()
        assert answer.get_json()["error"]["code"] == code
        assert answer.get_json()["error"]["message"]

    refused(bearer(api_token(owner)), 403, "own_report", fixed=True, **at)
    refused(bearer(api_token(co)), 403, "own_report", fixed=True, **at)
    refused(bearer(api_token(coord)), 403, "forbidden", fixed=True, **at)
    refused(me, 400, "invalid_fixed", fixed="yes", **at)
    refused(me, 400, "location_required", fixed=True)
    refused(me, 400, "too_far", fixed=True, lat=FAR[0], lon=FAR[1])
    refused(me, 400, "invalid_location", fixed=True, lat=95, lon=1)
    assert not db.session.scalars(select(ReportEvent).where(ReportEvent.kind == "verification")).all()

    ok = post(client, r, me, fixed=True, note="all clear", **at)
    assert ok.status_code == 200 and ok.get_json() == {"id": r.id, "reference": r.reference, "fixed": True}
    refused(me, 409, "already_verified", fixed=False, **at)
    event = db.session.scalar(select(ReportEvent).where(ReportEvent.kind == "verification"))
    assert event.actor_id == passer.id and event.internal and event.details["passer_by"] and event.note == "all clear"

    opened = report_row(owner)
    refused_open = post(client, opened, me, fixed=True, **at)
    assert refused_open.status_code == 409 and refused_open.get_json()["error"]["code"] == "not_resolved"


def test_a_look_with_a_photo_from_a_phone_form(app, client, scene):
    r, owner, passer = scene
    answer = client.post(
        f"/api/v1/reports/{r.id}/verification",
        headers=bearer(api_token(passer)),
        data={"fixed": "false", "lat": str(NEAR[0]), "lon": str(NEAR[1]), "photo": (_bytes(jpeg()), "x.jpg")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200, answer.get_json()
    photo = db.session.scalar(select(Photo).where(Photo.report_id == r.id, Photo.kind == "followup"))
    assert photo is not None
    bad = client.post(
        f"/api/v1/reports/{resolved_report(owner).id}/verification",
        headers=bearer(api_token(passer)),
        data={"fixed": "true", "lat": str(NEAR[0]), "lon": str(NEAR[1]), "photo": (_bytes(b"not a photo"), "x.jpg")},
        content_type="multipart/form-data",
    )
    assert bad.status_code in (400, 415)
    assert db.session.scalar(select(ReportEvent).where(ReportEvent.kind == "verification", ReportEvent.note == ""))


def _bytes(data: bytes):
    from io import BytesIO

    return BytesIO(data)


def test_not_fixed_from_a_passer_by_flags_it_and_reopens_nothing(app, scene):
    r, owner, passer = scene
    coord = make_user("coord9", role="coordinator")
    look(r, passer, fixed=False, note="still parked there", lat=NEAR[0], lon=NEAR[1])
    db.session.commit()
    assert r.status == Status.RESOLVED.value
    assert Kind.LOOKED_NOT_FIXED.value in kinds_for(coord)
    assert Kind.LOOKED_NOT_FIXED.value not in kinds_for(owner)
    n = db.session.scalar(select(Notification).where(Notification.kind == Kind.LOOKED_NOT_FIXED.value))
    title, body = render(n.kind, n.params, "en")
    assert "passer-by" in title and "still parked there" in body


def test_a_look_earns_the_verification_points_under_the_daily_cap(app, scene):
    r, owner, passer = scene
    when = utcnow()
    look(r, passer, fixed=True, lat=NEAR[0], lon=NEAR[1], now=when)
    db.session.commit()
    assert points.total_points(passer.id) == 2
    assert [(a.kind, a.points) for a in points.awards(user_ids=[passer.id])] == [("verified", 2)]
    day = points.period_bounds("week", when)
    assert points.period_tally(*day)[0].get(passer.id) == 2, "the league table counts it too"
    assert Kind.POINTS.value in kinds_for(passer)
    n = db.session.scalar(
        select(Notification).where(Notification.user_id == passer.id, Notification.kind == Kind.POINTS.value)
    )
    assert n.params["points"] == 2 and n.deliveries[0].channel == "app" and len(n.deliveries) == 1
    assert "2" in render(n.kind, n.params, "zh_CN")[0]

    # The cap: with 3 a day, a second look adds only 1, a third nothing (and tells nothing).
    app.config["GRIDSNAP_POINTS_DAILY_CAP"] = 3
    second, third = resolved_report(owner), resolved_report(owner)
    look(second, passer, fixed=True, lat=NEAR[0], lon=NEAR[1], now=when + timedelta(seconds=5))
    look(third, passer, fixed=True, lat=NEAR[0], lon=NEAR[1], now=when + timedelta(seconds=10))
    db.session.commit()
    assert points.total_points(passer.id) == 3
    told = db.session.scalars(
        select(Notification.params)
        .where(Notification.user_id == passer.id, Notification.kind == Kind.POINTS.value)
        .order_by(Notification.id)
    ).all()
    assert [p["points"] for p in told] == [2, 1]


def test_badges_are_told_once_in_the_readers_language(app):
    rider = make_user("rider1")
    file_report(rider)
    file_report(rider)
    badges = db.session.scalars(
        select(Notification).where(Notification.user_id == rider.id, Notification.kind == Kind.BADGE.value)
    ).all()
    assert [b.params["badge_code"] for b in badges] == ["first_report"]
    assert render(badges[0].kind, badges[0].params, "zh_CN")[0] != render(badges[0].kind, badges[0].params, "en")[0]
    assert "First report" in render(badges[0].kind, badges[0].params, "en")[0]
    deliver_due()


def test_acceptance_and_fixed_points_are_told_to_the_rider_and_co_reporters(app):
    rider, co = make_user("rider1"), make_user("rider2")
    r = report_row(rider, at=datetime.now(UTC) - timedelta(hours=5))
    db.session.add(CoReporter(report_id=r.id, user_id=co.id, created_at=r.created_at))
    db.session.commit()
    now = utcnow()
    history(r, [("accepted", now - timedelta(hours=4))])
    history(r, [("assigned", now - timedelta(hours=3)), ("resolved", now - timedelta(hours=2))])
    history(r, [("closed", now - timedelta(hours=1), {"outcome": "fixed"})])

    def told(user):
        return [
            (p.get("why"), p.get("points"))
            for p in db.session.scalars(
                select(Notification.params)
                .where(Notification.user_id == user.id, Notification.kind == Kind.POINTS.value)
                .order_by(Notification.id)
            )
        ]

    assert told(rider) == [("accepted", 5), ("fixed", 10)]
    assert told(co) == [("co_accepted", 2), ("co_fixed", 5)]
