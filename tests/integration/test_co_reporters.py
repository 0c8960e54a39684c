"""What a co-reporter sees of a report they joined: its progress, place, the staff's replies and their own
additions; never the rider who filed it, their description, photos or comments, nor another co-reporter's."""

import io
from collections import namedtuple

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Photo, ReportEvent
from app.reports import seen
from app.teams import points
from app.triage import services
from tests import factories as f

OWNER_NAME, OWNER_WORDS, BUILDING = "Owner Li", "White van, plate ChuanL12345", "Block 3 unit 2"
OWNER_COMMENT, OTHER_COMMENT, OWN_COMMENT = "owner adds a detail", "another joiner adds a note", "my own note"
STAFF_REPLY, INTERNAL_NOTE = "Traffic police informed", "regular caller, internal"

Scene = namedtuple("Scene", "report owner joiner headers photos")


def join(client, headers, report, comment=OWN_COMMENT):
    """What anyone can do with Open311's public coordinates: add a photo from the report's own position."""
    return client.post(
        f"/api/v1/reports/{report.id}/photos",
        headers=headers,
        content_type="multipart/form-data",
        data={
            "lat": str(report.lat),
            "lon": str(report.lon),
            "comment": comment,
            "photos": [(io.BytesIO(f.jpeg(colour=(10, 200, 10))), "me.jpg")],
        },
    )


@pytest.fixture
def scene(app, client):
    """A rider's report with their comment; the staff's reply, an internal note and an `after` photo; another
    rider's added photo; and the joiner, who joined through the API. photos: {whose: Photo}."""
    owner, owner_h = f.make_user("owner", display_name=OWNER_NAME, token=True)
    coord = f.make_user("coord", role="coordinator", display_name="Coordinator Wang")
    other = f.make_user("other", display_name="Other Zhao")
    joiner, joiner_h = f.make_user("joiner", display_name="Joiner Chen", token=True)
    report = f.file_report(owner, description=OWNER_WORDS, building=BUILDING)
    services.add_comment(report, owner, OWNER_COMMENT)
    services.transition(report, coord, "accepted", version=report.version)
    services.add_comment(report, coord, STAFF_REPLY)
    services.add_comment(report, coord, INTERNAL_NOTE, internal=True)
    services.add_rider_photos(report, other, [f.jpeg()], OTHER_COMMENT, lat=report.lat, lon=report.lon)
    db.session.commit()
    assert join(client, joiner_h, report).status_code == 201
    services.transition(report, coord, "assigned", version=report.version, department_id="traffic_police")
    services.transition(report, coord, "resolved", version=report.version, reply="Van towed", after_photo=f.jpeg())
    db.session.commit()

    def whose(photo):
        event = db.session.get(ReportEvent, photo.event_id) if photo.event_id else None
        return {None: "owner", other.id: "other", joiner.id: "joiner", coord.id: "staff"}[event and event.actor_id]

    photos = {whose(p): p for p in db.session.scalars(select(Photo).where(Photo.report_id == report.id))}
    assert set(photos) == {"owner", "other", "joiner", "staff"}
    return Scene(report, owner, joiner, {"owner": owner_h, "joiner": joiner_h}, photos)


def private_words(text: str) -> list[str]:
    return [
        w
        for w in (OWNER_NAME, OWNER_WORDS, BUILDING, OWNER_COMMENT, OTHER_COMMENT, INTERNAL_NOTE, "Other Zhao")
        if w in text
    ]


def test_a_co_reporter_reads_the_reports_progress_and_place_but_not_the_riders_parts(client, scene):
    r, h = scene.report, scene.headers
    body = client.get(f"/api/v1/reports/{r.id}", headers=h["joiner"]).get_json()
    assert body["co_reporter"] is True
    assert (body["status"], body["category"], body["reference"]) == ("resolved", "illegal_parking", r.reference)
    assert (body["lat"], body["lon"]) == (r.lat, r.lon) and "address" in body and "grid" in body
    assert "description" not in body and "building" not in body and "captured_at" not in body
    assert body["photos"] == []  # the rider's own photos
    assert [p["id"] for p in body["after_photos"]] == [scene.photos["staff"].id]
    full = client.get(f"/api/v1/reports/{r.id}", headers=h["owner"]).get_json()
    assert full["co_reporter"] is False and full["description"] == OWNER_WORDS and full["building"] == BUILDING
    assert [p["id"] for p in full["photos"]] == [scene.photos["owner"].id]


def test_joining_answers_with_the_co_reporters_share_only(client, app):
    owner = f.make_user("owner", display_name=OWNER_NAME)
    report = f.file_report(owner, description=OWNER_WORDS)
    _u, headers = f.make_user("joiner", token=True)
    db.session.commit()
    resp = join(client, headers, report)
    assert resp.status_code == 201
    assert private_words(resp.get_data(as_text=True)) == []
    assert resp.get_json()["report"]["co_reporter"] is True and resp.get_json()["report"]["photos"] == []


def test_a_co_reporters_list_of_their_reports_keeps_the_riders_parts_out(client, scene):
    items = client.get("/api/v1/reports", headers=scene.headers["joiner"]).get_json()["items"]
    assert [i["id"] for i in items] == [scene.report.id] and items[0]["co_reporter"] is True
    assert private_words(str(items)) == []


def test_a_co_reporters_timeline_holds_the_staffs_moves_and_replies_and_their_own_additions(client, scene):
    r, h = scene.report, scene.headers
    events = client.get(f"/api/v1/reports/{r.id}/events", headers=h["joiner"]).get_json()["events"]
    assert [(e["kind"], e["actor"], e["note"]) for e in events] == [
        ("transition", "Coordinator Wang", ""),
        ("comment", "Coordinator Wang", STAFF_REPLY),
        ("photo", "Joiner Chen", OWN_COMMENT),
        ("transition", "Coordinator Wang", ""),
        ("transition", "Coordinator Wang", "Van towed"),
    ]
    owners = client.get(f"/api/v1/reports/{r.id}/events", headers=h["owner"]).get_json()["events"]
    assert {e["note"] for e in owners} >= {OWNER_COMMENT, OTHER_COMMENT, OWN_COMMENT, STAFF_REPLY}
    assert INTERNAL_NOTE not in {e["note"] for e in owners}


@pytest.mark.parametrize("variant", ["display", "thumb"])
def test_a_co_reporter_may_open_only_their_own_and_the_staffs_photos(client, scene, variant):
    for whose, joiner_may in (("owner", False), ("other", False), ("joiner", True), ("staff", True)):
        url = f"/photos/{scene.photos[whose].id}/{variant}.jpg"
        assert client.get(url, headers=scene.headers["joiner"]).status_code == (200 if joiner_may else 403), whose
        assert client.get(url, headers=scene.headers["owner"]).status_code == 200, whose


def test_the_report_page_shows_a_co_reporter_only_their_share(client, scene):
    r = scene.report
    f.log_in(client, scene.joiner)
    html = client.get(f"/reports/{r.id}").get_data(as_text=True)
    assert r.reference in html and STAFF_REPLY in html and OWN_COMMENT in html and "Van towed" in html
    assert private_words(html) == []
    for whose in ("owner", "other"):
        assert f"/photos/{scene.photos[whose].id}/" not in html
    for whose in ("joiner", "staff"):
        assert f"/photos/{scene.photos[whose].id}/thumb.jpg" in html
    f.log_in(client, scene.owner)
    html = client.get(f"/reports/{r.id}").get_data(as_text=True)
    assert OWNER_WORDS in html and OTHER_COMMENT in html and f"/photos/{scene.photos['owner'].id}/" in html


def test_my_reports_shows_a_co_reported_report_without_the_riders_parts_or_their_news(client, scene):
    r = scene.report
    assert seen.unread_counts(scene.joiner, [r.id]) == {r.id: 2}  # the staff's two moves since they joined
    services.add_comment(r, scene.owner, "the owner again")
    db.session.commit()
    assert seen.unread_counts(scene.joiner, [r.id]) == {r.id: 2}  # another rider's comment is not news
    f.log_in(client, scene.joiner)
    html = client.get("/mine").get_data(as_text=True)
    assert r.reference in html and "You reported this too" in html and STAFF_REPLY in html
    assert private_words(html) == [] and "the owner again" not in html
    assert f"/photos/{scene.photos['owner'].id}/" not in html


def test_a_handler_whose_report_was_merged_sees_only_a_co_reporters_share(client, app):
    """A handler of another department whose own report was merged into this one co-reports it."""
    owner = f.make_user("owner", display_name=OWNER_NAME)
    coord = f.make_user("coord", role="coordinator")
    handler = f.make_user("handler", role="handler", department_id=None)
    report = f.file_report(owner, description=OWNER_WORDS)
    dup = f.file_report(handler)
    services.transition(dup, coord, "duplicate", version=dup.version, duplicate_of=report.reference)
    db.session.commit()
    f.log_in(client, handler)
    resp = client.get(f"/board/reports/{report.id}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/reports/{report.id}")
    html = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert report.reference in html and private_words(html) == []


def test_joining_an_accepted_report_earns_no_points_until_it_is_fixed(client, app):
    """Joining does not pay: the acceptance share goes only to those who joined before a coordinator accepted."""
    owner, coord = f.make_user("owner"), f.make_user("coord", role="coordinator")
    early, early_h = f.make_user("early", token=True)
    late, late_h = f.make_user("late", token=True)
    report = f.file_report(owner)
    assert join(client, early_h, report).status_code == 201
    services.transition(report, coord, "accepted", version=report.version)
    db.session.commit()
    assert join(client, late_h, report).status_code == 201
    assert points.total_points(late.id) == 0
    assert points.total_points(early.id) == 5 * 50 // 100
