"""The rider's confirmation (回访): who may answer, once, and "not fixed" soon after sends it back once."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import CoReporter, Department, ReportEvent, User
from app.notify.models import Notification
from app.triage.confirmation import confirm
from app.triage.services import transition
from tests.factories import api_token, bearer, file_report, jpeg, log_in, make_user


@pytest.fixture
def resolved(app):
    rider = make_user("rider1")
    coord = make_user("coord1", role="coordinator")
    dept = db.session.scalar(select(Department).where(Department.code == "traffic_police"))
    handler = make_user("handler1", role="handler", department_id=dept.id)
    r = file_report(rider)
    transition(r, coord, "accepted", version=r.version)
    transition(r, coord, "assigned", version=r.version, assignee_id=handler.id)
    transition(r, handler, "resolved", version=r.version, note="towed")
    db.session.commit()
    return r, rider, coord, handler


def post(client, r, headers, **body):
    return client.post(f"/api/v1/reports/{r.id}/confirmation", headers=headers, json=body)


def test_the_confirmation_api_matrix(app, client, resolved):
    r, rider, coord, handler = resolved
    co = make_user("rider2")
    db.session.add(CoReporter(report_id=r.id, user_id=co.id))
    stranger = make_user("rider3")
    db.session.commit()
    assert post(client, r, bearer(api_token(stranger)), fixed=True).status_code == 403
    assert post(client, r, bearer(api_token(coord)), fixed=True).status_code == 403
    bad = post(client, r, bearer(api_token(rider)), fixed="maybe")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_fixed"
    ok = post(client, r, bearer(api_token(rider)), fixed=True)
    assert ok.status_code == 200 and ok.get_json()["status"] == "resolved"
    again = post(client, r, bearer(api_token(rider)), fixed=False)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_confirmed"
    assert post(client, r, bearer(api_token(co)), fixed=True).status_code == 200, "a co-reporter answers too"
    fresh = file_report(rider)
    early = post(client, fresh, bearer(api_token(rider)), fixed=True)
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "not_resolved"


def test_not_fixed_within_a_week_reopens_once_and_tells_the_department_and_coordinators(app, resolved):
    r, rider, coord, handler = resolved
    confirm(r, rider, fixed=False, note="still parked there", photo=jpeg())
    db.session.commit()
    assert r.status == "accepted" and r.resolved_at is None
    reopen = db.session.scalar(
        select(ReportEvent).where(ReportEvent.kind == "transition", ReportEvent.actor_id.is_(None))
    )
    assert (reopen.from_status, reopen.to_status) == ("resolved", "accepted")
    told = {(n.kind, n.user_id) for n in db.session.scalars(select(Notification))}
    assert ("not_fixed", coord.id) in told and ("not_fixed", handler.id) in told
    # Resolved again and "not fixed" again: only flagged, never reopened a second time.
    transition(r, coord, "assigned", version=r.version, assignee_id=handler.id)
    transition(r, handler, "resolved", version=r.version, note="towed again")
    db.session.commit()
    second = confirm(r, rider, fixed=False)
    db.session.commit()
    assert second.details["reopens"] is False and r.status == "resolved"


def test_not_fixed_after_a_week_only_flags(app, resolved):
    r, rider, coord, handler = resolved
    event = confirm(r, rider, fixed=False, now=r.resolved_at + timedelta(days=7, seconds=1))
    db.session.commit()
    assert event.details["reopens"] is False and r.status == "resolved"
    assert db.session.scalar(
        select(Notification).where(Notification.kind == "not_fixed", Notification.user_id == coord.id)
    )


def test_a_report_closed_with_another_outcome_is_not_reopened(app, resolved):
    r, rider, coord, handler = resolved
    transition(r, coord, "closed", version=r.version, outcome="not_responsible")
    db.session.commit()
    event = confirm(r, rider, fixed=False)
    db.session.commit()
    assert event.details["reopens"] is False and r.status == "closed"


def test_the_report_page_asks_and_takes_the_answer_with_a_photo(app, client, resolved):
    r, rider, coord, handler = resolved
    log_in(client, db.session.get(User, rider.id))
    page = client.get(f"/reports/{r.id}").get_data(as_text=True)
    assert "Is it fixed?" in page
    from tests.factories import csrf_from

    answer = client.post(
        f"/reports/{r.id}/confirm",
        data={
            "csrf_token": csrf_from(page),
            "fixed": "0",
            "note": "no",
            "photo": (__import__("io").BytesIO(jpeg()), "after.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302
    db.session.expire_all()
    event = db.session.scalar(select(ReportEvent).where(ReportEvent.kind == "confirmation"))
    assert event.details["fixed"] is False and len(event.report.photos) == 2
    assert "Is it fixed?" not in client.get(f"/reports/{r.id}").get_data(as_text=True)
    # Without the CSRF token nothing is recorded.
    assert client.post(f"/reports/{r.id}/confirm", data={"fixed": "1"}).status_code == 400


def test_the_weekly_summary_counts_escalations_and_answers_per_department(app, resolved):
    from app.summaries.follow_up import follow_up

    r, rider, coord, handler = resolved
    confirm(r, rider, fixed=False)
    db.session.add(
        ReportEvent(
            report_id=r.id,
            kind="escalated",
            created_at=r.resolved_at,
            from_status="resolved",
            to_status="resolved",
            details={"level": 1, "deadline": "resolve", "due": "x"},
        )
    )
    db.session.commit()
    rows = follow_up(r.created_at - timedelta(days=1), r.created_at + timedelta(days=1))
    row = next(x for x in rows if x["code"] == "traffic_police")
    assert (row["escalations"], row["resolved"], row["answers"], row["not_fixed"]) == (1, 1, 1, 1)
    assert row["confirmation_rate"] == 1.0 and row["not_fixed_rate"] == 1.0


def test_the_timeline_says_what_the_rider_answered_and_what_was_escalated(app, client, resolved):
    from app.models import User

    r, rider, coord, handler = resolved
    confirm(r, rider, fixed=False, note="still there", now=r.resolved_at + timedelta(days=8))  # flagged, not reopened
    db.session.add(
        ReportEvent(
            report_id=r.id,
            kind="escalated",
            created_at=r.resolved_at,
            from_status="accepted",
            to_status="accepted",
            details={"level": 2, "deadline": "resolve", "due": "x"},
        )
    )
    db.session.commit()
    log_in(client, db.session.get(User, coord.id))
    page = client.get(f"/board/reports/{r.id}").get_data(as_text=True)
    assert "The rider says it is not fixed" in page and "still there" in page
    assert "Escalated (level 2)" in page
    assert 'id="answers"' in page and 'class="not-fixed"' in page, "the answer is beside the close step"
