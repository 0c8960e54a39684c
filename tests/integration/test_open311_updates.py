"""mySociety's GeoReport v2 updates extension (GET and POST servicerequestupdates), as FixMyStreet speaks it."""

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Report, ReportEvent, utcnow
from tests import factories as f
from tests.open311_checks import parse_xml, tags

V2 = "/open311/v2"
UPDATE = ["update_id", "service_request_id", "status", "updated_datetime", "description", "media_url"]
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Qianwei


@pytest.fixture(autouse=True)
def english(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


def w3(when: datetime) -> str:
    """How FixMyStreet's poller writes its window (DateTime::Format::W3CDTF of a UTC DateTime)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event(report, actor, at, kind="comment", note="", internal=False, to=None) -> ReportEvent:
    e = ReportEvent(
        report=report,
        actor=actor,
        kind=kind,
        note=note,
        internal=internal,
        created_at=at,
        from_status=report.status,
        to_status=to or report.status,
    )
    db.session.add(e)
    if to:
        report.status = to
    db.session.commit()
    return e


def published(report: Report) -> Report:
    """A report row with its reference, as filing gives it (the feeds show only referenced reports)."""
    db.session.flush()
    report.reference = f"GS-2026-{report.id:06d}"
    db.session.commit()
    return report


def updates_xml(client, start: datetime, end: datetime) -> list[dict]:
    """GET servicerequestupdates.xml as FixMyStreet reads it: <service_request_updates><request_update>..."""
    r = client.get(f"{V2}/servicerequestupdates.xml", query_string={"start_date": w3(start), "end_date": w3(end)})
    assert r.status_code == 200, r.get_data(as_text=True)
    root = parse_xml(r)
    assert root.tag == "service_request_updates"
    found = []
    for item in root:
        assert item.tag == "request_update" and tags(item) == UPDATE
        found.append({child.tag: child.text or "" for child in item})
    return found


@pytest.fixture
def story(app):
    """A report and its timeline around T0: public and private events, by staff, a handler and the rider."""
    rider = f.make_user("rider1")
    coord = f.make_user("coord", role="coordinator")
    report = published(f.report_row(rider, category="road_damage", at=T0 - timedelta(hours=1), description="Pothole"))
    e = {
        "accepted": event(report, coord, T0, "transition", "On our list.", to="accepted"),
        "internal": event(report, coord, T0 + timedelta(minutes=1), note="budget code 7781", internal=True),
        "rider": event(report, rider, T0 + timedelta(minutes=2), note="My phone is 13800138000"),
        "comment": event(report, coord, T0 + timedelta(minutes=3), note="Crew booked for Monday."),
        "resolved": event(report, coord, T0 + timedelta(minutes=4), "transition", to="resolved"),
        "closed": event(report, coord, T0 + timedelta(minutes=5), "transition", "Fixed.", to="closed"),
    }
    return report, e


def test_get_updates_lists_the_public_updates_in_the_documented_shape(client, story):
    report, e = story
    got = updates_xml(client, T0 - timedelta(minutes=1), T0 + timedelta(minutes=10))
    assert got == [
        {
            "update_id": str(e["accepted"].id),
            "service_request_id": report.reference,
            "status": "open",
            "updated_datetime": "2026-12-01T10:00:00+08:00",
            "description": "On our list.",
            "media_url": "",
        },
        {
            "update_id": str(e["comment"].id),
            "service_request_id": report.reference,
            "status": "open",
            "updated_datetime": "2026-12-01T10:03:00+08:00",
            "description": "Crew booked for Monday.",
            "media_url": "",
        },
        {
            "update_id": str(e["resolved"].id),
            "service_request_id": report.reference,
            "status": "open",
            "updated_datetime": "2026-12-01T10:04:00+08:00",
            "description": "Resolved",  # a move without a note says what it was
            "media_url": "",
        },
        {
            "update_id": str(e["closed"].id),
            "service_request_id": report.reference,
            "status": "closed",
            "updated_datetime": "2026-12-01T10:05:00+08:00",
            "description": "Fixed.",
            "media_url": "",
        },
    ]
    js = client.get(
        f"{V2}/servicerequestupdates.json",
        query_string={"start_date": w3(T0 - timedelta(minutes=1)), "end_date": w3(T0 + timedelta(minutes=10))},
    ).get_json()
    assert [list(u) for u in js] == [UPDATE] * 4
    assert [{k: (v or "") for k, v in u.items()} for u in js] == got
    text = client.get(f"{V2}/servicerequestupdates.json", query_string={"start_date": w3(T0)}).get_data(as_text=True)
    assert "7781" not in text and "13800138000" not in text


def test_rejected_reports_updates_are_left_out_like_the_report(app, client, story):
    report, _e = story
    report.status = "rejected"
    db.session.commit()
    window = {"start_date": w3(T0 - timedelta(minutes=1)), "end_date": w3(T0 + timedelta(minutes=10))}
    assert client.get(f"{V2}/servicerequestupdates.json", query_string=window).get_json() == []
    app.config["OPEN311_INCLUDE_REJECTED"] = True
    assert len(client.get(f"{V2}/servicerequestupdates.json", query_string=window).get_json()) == 4


def test_the_system_that_filed_a_request_learns_it_was_rejected(app, client, filed_by_client):
    """FixMyStreet's poller sends its api_key with GET servicerequestupdates (Open311.pm); without the rejection
    in its feed it would keep the report open for ever."""
    from app.triage import services

    report, key = filed_by_client
    coord = f.make_user("coord", role="coordinator")
    services.transition(report, coord, "rejected", version=report.version, reply="Not a real problem.")
    db.session.commit()
    window = {
        "start_date": w3(report.created_at - timedelta(minutes=1)),
        "end_date": w3(utcnow() + timedelta(minutes=1)),
    }
    url = f"{V2}/servicerequestupdates.xml"
    assert len(parse_xml(client.get(url, query_string=window))) == 0  # the public feed leaves rejected ones out
    for api_key in ("", "   "):  # FixMyStreet sends api_key= when its body has none: the public feed
        assert len(parse_xml(client.get(url, query_string={**window, "api_key": api_key}))) == 0
    root = parse_xml(client.get(url, query_string={**window, "api_key": key}))
    assert [(u.findtext("service_request_id"), u.findtext("status"), u.findtext("description")) for u in root] == [
        (report.reference, "closed", "Not a real problem.")
    ]
    other = f.api_token(f.make_user("other_client"))
    assert len(parse_xml(client.get(url, query_string={**window, "api_key": other}))) == 0  # not its request
    staff = f.api_token(f.make_user("coord2", role="coordinator"))
    assert len(parse_xml(client.get(url, query_string={**window, "api_key": staff}))) == 1
    refused = client.get(f"{V2}/servicerequestupdates.json", query_string={**window, "api_key": "gs_revoked"})
    assert refused.status_code == 403 and "api_key" in refused.get_json()[0]["description"]


def test_extended_statuses_say_what_fixmystreet_should_show(app, client, filed_by_client):
    """FixMyStreet's Open311::map_state reads "closed" as fixed (unless its body sends extended statuses): a
    report closed as not the council's, rejected, or a duplicate showed as fixed there. With
    GRIDSNAP_OPEN311_EXTENDED_STATUSES the feed says its finer words instead."""
    from app.triage import services

    report, key = filed_by_client
    coord = f.make_user("coord", role="coordinator")
    moves = [
        ("accepted", {}),
        ("assigned", {"department_id": "traffic_police"}),
        ("in_progress", {}),
        ("resolved", {"note": "Filled."}),
        ("in_progress", {"note": "Not filled after all."}),
        ("resolved", {"note": "Filled again."}),
        ("closed", {"outcome": "not_responsible"}),
    ]
    for to, extra in moves:
        services.transition(report, coord, to, version=report.version, **extra)
    services.add_comment(report, coord, "The highway bureau has it.", internal=False)
    fake, twin = (f.file_report(f.make_user(name)) for name in ("rider2", "rider3"))
    services.transition(fake, coord, "rejected", version=fake.version, note="Not real.")
    services.transition(twin, coord, "duplicate", version=twin.version, duplicate_of=report.id)
    db.session.commit()
    window = {"start_date": w3(report.created_at - timedelta(minutes=1)), "api_key": key}
    url = f"{V2}/servicerequestupdates.xml"

    def statuses():
        return [
            (u.findtext("service_request_id"), u.findtext("status"))
            for u in parse_xml(client.get(url, query_string=window))
        ]

    staff_key = f.api_token(f.make_user("coord2", role="coordinator"))  # sees the rejected report too
    window["api_key"] = staff_key
    plain = statuses()
    app.config["OPEN311_EXTENDED_STATUSES"] = True
    ref, fake_ref, twin_ref = report.reference, fake.reference, twin.reference
    assert statuses() == [
        (ref, "investigating"),
        (ref, "action_scheduled"),
        (ref, "in_progress"),
        (ref, "fixed"),
        (ref, "in_progress"),
        (ref, "fixed"),
        (ref, "not_councils_responsibility"),
        (ref, "not_councils_responsibility"),  # the comment after it: the report's outcome
        (fake_ref, "no_further_action"),
        (twin_ref, "duplicate"),
    ]
    assert [s for _r, s in plain] == ["open"] * 6 + ["closed"] * 4  # off: the spec's open/closed
    closing = parse_xml(client.get(url, query_string=window))[6]
    assert closing.findtext("description") == "Closed: Not our responsibility"  # the outcome, in words too


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("start_date=yesterday", "start_date must be a w3 date"),
        ("start_date=2026-05-01T00:00:00Z&end_date=2026-01-01T00:00:00Z", "before start_date"),
        ("start_date=2026-01-01T00:00:00Z&end_date=2026-05-01T00:00:00Z", "at most 90 days"),
    ],
)
def test_bad_update_windows_are_400_in_both_formats(client, query, words):
    for fmt in ("json", "xml"):
        r = client.get(f"{V2}/servicerequestupdates.{fmt}?{query}")
        assert r.status_code == 400
        text = r.get_json()[0]["description"] if fmt == "json" else parse_xml(r)[0].findtext("description")
        assert words in text


class Poller:
    """FixMyStreet's GetServiceRequestUpdates, in miniature: ask for [start, end], keep each update whose
    updated_datetime (in UTC) lies in the window (UpdatesBase::check_date), skip an update_id it has already
    stored as a comment's external_id (process_requests)."""

    def __init__(self, client):
        self.client = client
        self.stored: dict[str, dict] = {}  # update_id -> the update, like FixMyStreet's comments

    def poll(self, start: datetime, end: datetime) -> int:
        created = 0
        for update in updates_xml(self.client, start, end):
            shown = datetime.fromisoformat(update["updated_datetime"])
            assert w3(start) <= w3(shown) <= w3(end), update  # check_date would drop it: never sent outside
            if update["update_id"] in self.stored:
                continue
            self.stored[update["update_id"]] = update
            created += 1
        return created


def test_the_feed_driven_like_fixmystreets_poller_misses_nothing_and_repeats_nothing(app, client):
    rider = f.make_user("rider1")
    coord = f.make_user("coord", role="coordinator")
    report = published(f.report_row(rider, category="road_damage", at=T0 - timedelta(hours=3)))
    t1, t2 = T0 + timedelta(hours=2), T0 + timedelta(hours=4)
    # Updates at the edges: before the first window, on its first second, a microsecond past its end
    # (shown as that second, so in both windows), on the shared boundary, just before the second's end,
    # and after the last window.
    moments = {
        "before": T0 - timedelta(microseconds=1),
        "at_start": T0,
        "inside": T0 + timedelta(minutes=30, microseconds=250),
        "at_t1": t1,
        "t1_and_a_bit": t1 + timedelta(microseconds=999_999),
        "at_t1_plus_1s": t1 + timedelta(seconds=1),
        "at_t2": t2,
        "after": t2 + timedelta(seconds=1),
    }
    ids = {name: event(report, coord, at, note=f"note {name}").id for name, at in moments.items()}
    poller = Poller(client)
    first = poller.poll(T0, t1)
    assert first == 4  # at_start, inside, at_t1, t1_and_a_bit
    assert poller.poll(T0, t1) == 0  # the same window again: nothing new, nothing twice
    assert poller.poll(t1, t2) == 2  # at_t1_plus_1s, at_t2 (the boundary's two were stored already)
    assert poller.poll(t1, t2) == 0
    wanted = {str(ids[n]) for n in moments if n not in ("before", "after")}
    assert set(poller.stored) == wanted
    # FixMyStreet asks for the last two hours on every run: overlapping windows add nothing twice either.
    assert poller.poll(T0 + timedelta(hours=1), T0 + timedelta(hours=3)) == 0
    assert poller.poll(T0 - timedelta(hours=1), T0) == 1  # "before" is in the earlier window's last second
    assert poller.poll(t2, t2 + timedelta(hours=2)) == 1  # "after"


def test_a_window_in_another_offset_means_the_same_instants(client, story):
    _report, _e = story
    local = {"start_date": "2026-12-01T09:59:00+08:00", "end_date": "2026-12-01T10:03:00+08:00"}
    utc = {"start_date": "2026-12-01T01:59:00Z", "end_date": "2026-12-01T02:03:00Z"}
    a = client.get(f"{V2}/servicerequestupdates.json", query_string=local).get_json()
    assert a == client.get(f"{V2}/servicerequestupdates.json", query_string=utc).get_json()
    assert [u["description"] for u in a] == ["On our list.", "Crew booked for Monday."]  # 10:03:00 is inside


# POST servicerequestupdates --------------------------------------------------------------------------------


@pytest.fixture
def filed_by_client(app, client):
    """A report filed through Open311 by a client system's account (its api_key), and the key."""
    key = f.api_token(f.make_user("fms", display_name="FixMyStreet"))
    r = client.post(
        f"{V2}/requests.json",
        data={"api_key": key, "service_code": "road_damage", "lat": "29.2", "long": "103.9", "description": "Hole"},
    )
    assert r.status_code == 200
    report = db.session.scalar(select(Report).where(Report.reference == r.get_json()[0]["service_request_id"]))
    return report, key


def fms_update(key, report, **extra) -> dict:
    """The parameters FixMyStreet's post_service_request_update sends (Open311.pm)."""
    params = {
        "api_key": key,
        "service_request_id": report.reference,
        "update_id": "7001",
        "updated_datetime": "2026-12-07T10:15:00+08:00",
        "status": "OPEN",
        "description": "Still there, and deeper after the rain.",
        "first_name": "Li",
        "last_name": "Wei",
        "email": "li.wei@example.org",
    }
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def test_post_update_is_kept_as_a_comment_and_answers_the_update_id(client, filed_by_client):
    report, key = filed_by_client
    r = client.post(f"{V2}/servicerequestupdates.xml", data=fms_update(key, report))
    assert r.status_code == 200, r.get_data(as_text=True)
    root = parse_xml(r)
    assert root.tag == "service_request_updates" and [c.tag for c in root] == ["request_update"]
    update_id = root[0].findtext("update_id")
    stored = db.session.get(ReportEvent, int(update_id))
    assert stored.report_id == report.id and stored.kind == "update" and not stored.internal
    assert stored.note == "Still there, and deeper after the rain."
    assert stored.details["update_id"] == "7001" and stored.details["status"] == "open"
    assert stored.details["contact"] == {"email": "li.wei@example.org", "first_name": "Li", "last_name": "Wei"}
    assert stored.details["updated_datetime"] == "2026-12-07T10:15:00+08:00"
    again = client.post(f"{V2}/servicerequestupdates.json", data=fms_update(key, report))
    assert again.get_json() == [{"update_id": update_id}]  # FixMyStreet retries: the same update, once
    assert db.session.scalar(select(db.func.count()).where(ReportEvent.kind == "update")) == 1
    coord = f.make_user("coord", role="coordinator")
    f.log_in(client, coord)
    page = client.get(f"/board/reports/{report.id}").get_data(as_text=True)
    assert "Update from an Open311 client" in page and "deeper after the rain" in page


def test_a_clients_status_changes_nothing_and_its_words_are_not_published_back(app, client, filed_by_client):
    report, key = filed_by_client
    for status, update_id in (("CLOSED", "1"), ("FIXED", "2"), ("REOPEN", "3")):
        r = client.post(
            f"{V2}/servicerequestupdates.json", data=fms_update(key, report, status=status, update_id=update_id)
        )
        assert r.status_code == 200, r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Report, report.id).status == "submitted"
    report.status = "closed"
    db.session.commit()
    client.post(f"{V2}/servicerequestupdates.json", data=fms_update(key, report, status="OPEN", update_id="4"))
    db.session.expire_all()
    assert db.session.get(Report, report.id).status == "closed"  # "still there" from outside reopens nothing
    item = client.get(f"{V2}/requests/{report.reference}.json").get_json()[0]
    assert item["status_notes"] is None  # a citizen's words are not the council's notes
    window = {"start_date": w3(report.created_at - timedelta(minutes=1))}
    assert client.get(f"{V2}/servicerequestupdates.json", query_string=window).get_json() == []


def test_post_update_refusals(app, client, filed_by_client):
    report, key = filed_by_client
    url = f"{V2}/servicerequestupdates.json"
    cases = [
        (fms_update(None, report), 403, "api_key"),
        (fms_update("gs_not-a-token", report), 403, "api_key"),
        (fms_update(key, report, service_request_id="GS-2000-999999"), 404, "GS-2000-999999"),
        (fms_update(key, report, service_request_id=""), 400, "service_request_id is required"),
        (fms_update(key, report, status=None), 400, "status is required"),
        (fms_update(key, report, status="maybe"), 400, "status is required"),
        (fms_update(key, report, description=""), 400, "description is required"),
        (fms_update(key, report, description="x" * 4001), 400, "at most 4000"),
        (fms_update(key, report, media_url="file:///etc/passwd"), 400, "media_url"),
        (fms_update(key, report, updated_datetime="last tuesday"), 400, "updated_datetime must be"),
        (fms_update(f.api_token(f.make_user("stranger")), report), 403, "only to the requests its account filed"),
    ]
    for data, status, words in cases:
        r = client.post(url, data=data)
        assert r.status_code == status, (data, r.get_data(as_text=True))
        assert words in r.get_json()[0]["description"], (data, r.get_json())
    xml = client.post(f"{V2}/servicerequestupdates.xml", data=fms_update(key, report, status=None))
    assert xml.status_code == 400 and parse_xml(xml)[0].findtext("code") == "400"
    assert db.session.scalar(select(db.func.count()).where(ReportEvent.kind == "update")) == 0


def test_post_update_takes_a_photo_url_alone_and_the_key_in_the_query(client, filed_by_client):
    report, key = filed_by_client
    params = fms_update(None, report, description="", media_url="https://fms.example.org/photo/1.jpeg")
    r = client.post(f"{V2}/servicerequestupdates.json", query_string={"api_key": key}, data=params)
    assert r.status_code == 200, r.get_data(as_text=True)
    stored = db.session.get(ReportEvent, int(r.get_json()[0]["update_id"]))
    assert stored.details["media_url"] == ["https://fms.example.org/photo/1.jpeg"] and stored.note == ""


def test_fixmystreets_photo_uploads_on_an_update_are_kept_as_follow_up_photos(app, client, filed_by_client):
    """With upload_files_for_updates, FixMyStreet's Open311.pm posts an update's photos as photo1, ... (multipart);
    for a private report it sends no media_url, so a photo-only update was refused and retried for ever."""
    from io import BytesIO

    report, key = filed_by_client
    data = fms_update(key, report, description="")
    data["photo1"] = (BytesIO(f.jpeg(320, 240)), "55.0.full.jpeg")
    r = client.post(f"{V2}/servicerequestupdates.xml", content_type="multipart/form-data", data=data)
    assert r.status_code == 200, r.get_data(as_text=True)
    stored = db.session.get(ReportEvent, int(parse_xml(r)[0].findtext("update_id")))
    photos = [p for p in db.session.get(Report, report.id).photos if p.event_id == stored.id]
    assert [(p.kind, p.width, p.height) for p in photos] == [("followup", 320, 240)]
    bad = fms_update(key, report, update_id="7002")
    bad["photo1"] = (BytesIO(b"not an image"), "x.jpeg")
    refused = client.post(f"{V2}/servicerequestupdates.json", content_type="multipart/form-data", data=bad)
    assert refused.status_code in (400, 415)
    assert db.session.scalar(select(db.func.count()).where(ReportEvent.kind == "update")) == 1


def test_fixmystreets_photo_links_reach_the_staff(client):
    """FixMyStreet sends its photos as media_url links (repeated with multi_photos), on requests and on updates:
    they were kept where no one could see them, and all but the first link of a request were dropped."""
    key = f.api_token(f.make_user("fms", display_name="FixMyStreet"))
    links = ["https://fms.example.org/photo/9.0.full.jpeg", "https://fms.example.org/photo/9.1.full.jpeg"]
    r = client.post(
        f"{V2}/requests.xml",
        data={"api_key": key, "service_code": "road_damage", "lat": "29.2", "long": "103.9", "media_url": links},
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    report = db.session.scalar(select(Report).where(Report.reference == parse_xml(r)[0].findtext("service_request_id")))
    link = "https://fms.example.org/photo/c/10.0.full.jpeg"
    posted = client.post(f"{V2}/servicerequestupdates.xml", data=fms_update(key, report, media_url=link))
    assert posted.status_code == 200, posted.get_data(as_text=True)
    assert client.get(f"{V2}/requests/{report.reference}.json").get_json()[0]["media_url"] is None  # public media off
    f.log_in(client, f.make_user("coord", role="coordinator"))
    page = client.get(f"/board/reports/{report.id}").get_data(as_text=True)
    for url in [*links, link]:
        assert f'href="{url}"' in page and 'rel="noopener noreferrer nofollow"' in page


def test_staff_may_post_updates_to_any_request(client, filed_by_client):
    report, _key = filed_by_client
    staff_key = f.api_token(f.make_user("coord", role="coordinator"))
    r = client.post(f"{V2}/servicerequestupdates.xml", data=fms_update(staff_key, report))
    assert r.status_code == 200
    assert ElementTree.fromstring(r.get_data())[0].findtext("update_id").isdigit()


def test_an_after_photo_is_the_updates_media_url_only_with_public_media_on(app, client):
    from app.triage import services

    rider, coord = f.make_user("rider1"), f.make_user("coord", role="coordinator")
    report = f.file_report(rider)
    services.transition(report, coord, "accepted", version=report.version)
    services.add_rider_photos(report, rider, [f.jpeg()], "Still there")  # a rider's photo: never public
    services.transition(report, coord, "assigned", version=report.version, department_id="traffic_police")
    services.transition(report, coord, "resolved", version=report.version, reply="Van towed", after_photo=f.jpeg())
    db.session.commit()
    window = {"start_date": w3(report.created_at - timedelta(minutes=1))}
    feed = client.get(f"{V2}/servicerequestupdates.json", query_string=window).get_json()
    assert [u["media_url"] for u in feed] == [None, None, None]
    app.config["OPEN311_PUBLIC_MEDIA"] = True
    feed = client.get(f"{V2}/servicerequestupdates.json", query_string=window).get_json()
    after = next(p for p in report.photos if p.kind == "after")
    followup = next(p for p in report.photos if p.kind == "followup")
    assert [u["media_url"] for u in feed] == [None, None, f"http://localhost/open311/media/{after.id}.jpg"]
    assert feed[2]["description"] == "Van towed"
    assert client.get(f"/open311/media/{after.id}.jpg").status_code == 200
    assert client.get(f"/open311/media/{followup.id}.jpg").status_code == 404
