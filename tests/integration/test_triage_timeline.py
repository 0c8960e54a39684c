"""A report's timeline: every move and comment is an event; internal notes are hidden from the rider;
what the rider has not seen yet (the unread badge)."""

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import CoReporter, utcnow
from app.reports import seen
from app.triage import services
from tests import factories as f


@pytest.fixture
def people(app):
    rider, rider_h = f.make_user("rider", display_name="Rider Zhang", token=True)
    coord, coord_h = f.make_user("coord", "coordinator", display_name="Coordinator Li", token=True)
    handler, handler_h = f.make_user(
        "handler", "handler", department="traffic_police", display_name="Handler Wang", token=True
    )
    db.session.commit()
    for h in (rider_h, coord_h, handler_h):
        h["Accept-Language"] = "en"
    return {"rider": (rider, rider_h), "coord": (coord, coord_h), "handler": (handler, handler_h)}


def walked(people, rider=None):
    """A report of `rider` (by default the people's rider) through the whole workflow: accepted (with an
    internal note and an internal comment), priority raised, dispatched, resolved (both with a reply to the
    rider), closed as fixed."""
    coord, handler = people["coord"][0], people["handler"][0]
    report = f.report_row(rider or people["rider"][0])
    services.transition(report, coord, "accepted", version=1, note="plate looks fake", internal=True)
    services.add_comment(report, coord, "checking with the traffic police", internal=True)
    services.set_priority(report, coord, "high", version=2)
    services.transition(
        report,
        coord,
        "assigned",
        version=3,
        department_id="traffic_police",
        assignee_id=handler.id,
        reply="please go today",
    )
    services.transition(report, handler, "resolved", version=4, reply="car towed")
    services.transition(report, coord, "closed", version=5, outcome="fixed", note="checked")
    db.session.commit()
    return report


def events_as(client, people, who, report):
    """The report's timeline as one of the people sees it through the API."""
    return client.get(f"/api/v1/reports/{report.id}/events", headers=people[who][1]).get_json()["events"]


def test_every_move_is_an_event_with_who_when_from_to_note_and_details(client, people):
    handler = people["handler"][0]
    events = events_as(client, people, "coord", walked(people))
    moves = [(e["kind"], e["from"], e["to"], e["actor"]) for e in events if e["kind"] in ("transition", "submitted")]
    assert moves == [
        ("submitted", None, "submitted", None),
        ("transition", "submitted", "accepted", "Coordinator Li"),
        ("transition", "accepted", "assigned", "Coordinator Li"),
        ("transition", "assigned", "resolved", "Handler Wang"),
        ("transition", "resolved", "closed", "Coordinator Li"),
    ]
    by_to = {e["to"]: e for e in events if e["kind"] == "transition"}
    assert by_to["assigned"]["details"]["assignee"] == handler.id
    assert by_to["assigned"]["details"]["department"] == "traffic_police"
    assert by_to["assigned"]["note"] == "please go today"
    assert by_to["closed"]["details"]["outcome"] == "fixed"
    assert all(e["at"] for e in events)
    internal = [e["note"] for e in events if e["internal"]]
    # the priority edit too, and the close's note: a move's note is internal unless said otherwise
    assert internal == ["plate looks fake", "checking with the traffic police", "", "checked"]


def test_rider_sees_every_move_but_no_internal_note(client, people):
    events = events_as(client, people, "rider", walked(people))
    assert [e["to"] for e in events if e["kind"] == "transition"] == ["accepted", "assigned", "resolved", "closed"]
    assert not any(e["internal"] for e in events)
    text = repr(events)
    assert "plate looks fake" not in text and "checking with the traffic police" not in text
    assert "car towed" in text and "please go today" in text


def test_rider_my_reports_page_shows_the_timeline_without_internal_notes(client, people):
    walked(people, rider=f.make_user("webrider"))
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    f.log_in(client, "webrider")
    html = client.get("/mine").get_data(as_text=True)
    assert "car towed" in html and "please go today" in html and "Fixed" in html  # the outcome too
    assert "plate looks fake" not in html and "checking with the traffic police" not in html


def test_handler_of_the_report_sees_internal_notes(client, people):
    events = events_as(client, people, "handler", walked(people))
    assert "plate looks fake" in repr(events)


def test_someone_elses_timeline_is_refused(client, people):
    rider, _ = people["rider"]
    r = f.report_row(rider)
    _u, stranger = f.make_user("stranger", token=True)
    db.session.commit()
    assert client.get(f"/api/v1/reports/{r.id}/events", headers=stranger).status_code == 403


# -- unread ---------------------------------------------------------------------------------------


def test_unread_counts_events_of_others_after_the_last_look(app, people):
    rider, _ = people["rider"]
    coord, _ = people["coord"]
    quiet = f.report_row(rider)
    r = f.report_row(rider)
    assert seen.unread_counts(rider, [r.id, quiet.id]) == {r.id: 0, quiet.id: 0}  # own filing is not news
    services.transition(r, coord, "accepted", version=1)
    services.add_comment(r, coord, "internal only", internal=True)
    services.add_comment(r, rider, "still there")  # their own comment is not news to them
    db.session.commit()
    assert seen.unread_counts(rider, [r.id, quiet.id]) == {r.id: 1, quiet.id: 0}
    seen.mark_seen(rider, r)
    db.session.commit()
    assert seen.unread_counts(rider, [r.id]) == {r.id: 0}
    later = utcnow() + timedelta(minutes=1)
    services.transition(r, coord, "assigned", version=2, department_id="traffic_police", now=later)
    services.add_comment(r, coord, "we are on it")
    db.session.commit()
    assert seen.unread_counts(rider, [r.id]) == {r.id: 2}


def test_mark_seen_twice_keeps_one_row_and_never_goes_back(app, people):
    from app.reports.models import ReportSeen

    rider, _ = people["rider"]
    r = f.report_row(rider)
    t = utcnow()
    seen.mark_seen(rider, r, now=t)
    seen.mark_seen(rider, r, now=t - timedelta(hours=1))
    db.session.commit()
    assert db.session.get(ReportSeen, (rider.id, r.id)).seen_at == t


def test_co_reporter_counts_from_when_they_joined(app, people):
    rider, _ = people["rider"]
    coord, _ = people["coord"]
    other, _h = f.make_user("other", token=True)
    r = f.report_row(other, at=utcnow() - timedelta(hours=2))
    services.transition(r, coord, "accepted", version=1, now=utcnow() - timedelta(hours=1))
    db.session.add(CoReporter(report_id=r.id, user_id=rider.id, created_at=utcnow() - timedelta(minutes=30)))
    db.session.commit()
    assert seen.unread_counts(rider, [r.id]) == {r.id: 0}
    services.transition(r, coord, "assigned", version=2, department_id="traffic_police")
    db.session.commit()
    assert seen.unread_counts(rider, [r.id]) == {r.id: 1}


def test_unread_counts_of_no_reports_is_empty(app, people):
    assert seen.unread_counts(people["rider"][0], []) == {}
