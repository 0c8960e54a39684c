"""Who may move a report where, through the API: every role against every move, stale versions,
what each move needs and what it records."""

import itertools
from datetime import UTC

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import CoReporter, Photo, Report, ReportEvent
from app.reports.services import make_reference
from tests import factories as f
from tests.expectations import EXPECTED_MOVES as EXPECTED
from tests.expectations import STATUSES

HANDLER_MOVES = {("assigned", "in_progress"), ("assigned", "resolved"), ("in_progress", "resolved")}
ROLES = [
    "anonymous",
    "rider_owner",
    "rider_other",
    "handler_assigned",
    "handler_department",
    "handler_other",
    "coordinator",
    "admin",
]


def expected(role, current, target):
    """(HTTP status, error code) the issue asks for."""
    if role == "anonymous":
        return 401, "unauthorized"
    if role in ("rider_owner", "rider_other", "handler_other"):
        return 403, "forbidden"
    if role in ("handler_assigned", "handler_department"):
        return (200, None) if (current, target) in HANDLER_MOVES else (403, "forbidden")
    return (200, None) if (current, target) in EXPECTED else (409, "invalid_transition")


class Cast:
    """Everyone involved with the reports under test, each with API headers."""

    def __init__(self):
        self.users, self.headers = {}, {"anonymous": {}}
        for role, (kind, dept) in {
            "rider_owner": ("rider", None),
            "rider_other": ("rider", None),
            "handler_assigned": ("handler", "property"),  # assigned in person, another department
            "handler_department": ("handler", "traffic_police"),  # the report's department
            "handler_other": ("handler", "environment"),
            "coordinator": ("coordinator", None),
            "admin": ("admin", None),
        }.items():
            self.users[role], self.headers[role] = f.make_user(
                role, kind, department=dept, display_name=role.title(), token=True
            )
            self.headers[role]["Accept-Language"] = "en"
        db.session.commit()
        self.original = f.report_row(self.users["rider_other"])  # what duplicates point at
        self.original.reference = make_reference(self.original.id, self.original.created_at)
        db.session.commit()

    def report_in(self, status, **cols):
        """A report of rider_owner in `status`, assigned to handler_assigned in traffic_police."""
        from app.models import Department

        dept = db.session.scalar(select(Department.id).where(Department.code == "traffic_police"))
        cols.setdefault("outcome", "fixed" if status == "closed" else None)
        cols.setdefault("assignee_id", self.users["handler_assigned"].id)
        return f.report_row(self.users["rider_owner"], status=status, department_id=dept, **cols)

    def payload(self, report, target):
        """What the move needs, and no more."""
        body = {"to": target, "version": report.version}
        needs = EXPECTED.get((report.status, target), set())
        if "note" in needs:
            body["note"] = "checked on site"
        if "outcome" in needs:
            body["outcome"] = "fixed"
        if "duplicate_of" in needs:
            body["duplicate_of"] = self.original.id
        if "assignee_or_department" in needs:
            body.update(assignee=self.users["handler_assigned"].id, department="traffic_police")
        return body


def move(client, report_id, body, headers):
    return client.post(f"/api/v1/reports/{report_id}/transitions", json=body, headers=headers)


def events_of(report_id):
    return db.session.scalar(select(func.count()).select_from(ReportEvent).where(ReportEvent.report_id == report_id))


# The matrix touches no photo: the S3 + Redis variant would only repeat the PostgreSQL run.
@pytest.mark.parametrize("app", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("role", ROLES)
def test_each_role_against_every_move(app, client, role):
    cast = Cast()
    untouched = {}  # one report per status, reused while refusals leave it as it was
    wrong = []
    for current, target in itertools.product(STATUSES, STATUSES):
        report = untouched.get(current) or cast.report_in(current)
        untouched[current] = report
        before_version, before_events = report.version, events_of(report.id)
        resp = move(client, report.id, cast.payload(report, target), cast.headers[role])
        want_status, want_code = expected(role, current, target)
        got_code = (resp.get_json() or {}).get("error", {}).get("code")
        if (resp.status_code, got_code) != (want_status, want_code):
            wrong.append((current, target, resp.status_code, got_code, want_status, want_code))
            continue
        db.session.expire_all()
        fresh = db.session.get(Report, report.id)
        if resp.status_code == 200:
            body = resp.get_json()
            assert (body["status"], body["version"]) == (target, before_version + 1)
            assert (fresh.status, fresh.version) == (target, before_version + 1)
            last = db.session.scalar(
                select(ReportEvent)
                .where(ReportEvent.report_id == report.id, ReportEvent.kind == "transition")
                .order_by(ReportEvent.id.desc())
                .limit(1)
            )
            assert (last.kind, last.from_status, last.to_status, last.actor_id) == (
                "transition",
                current,
                target,
                cast.users[role].id,
            )
            del untouched[current]  # it has moved on: the next move from `current` needs a new one
        else:
            assert (fresh.status, fresh.version, events_of(report.id)) == (current, before_version, before_events)
    assert wrong == [], f"{role}: (from, to, got, got code, wanted, wanted code)"


@pytest.fixture
def cast(app):
    return Cast()


def test_stale_version_is_refused_and_says_who_changed_it_and_how(client, cast):
    r = cast.report_in("submitted")
    first = move(client, r.id, {"to": "accepted", "version": 1}, cast.headers["coordinator"])
    assert first.status_code == 200 and first.get_json()["version"] == 2
    second = move(client, r.id, {"to": "rejected", "version": 1, "note": "blurred photo"}, cast.headers["admin"])
    assert second.status_code == 409
    error = second.get_json()["error"]
    assert error["code"] == "stale_version"
    assert error["changed_by"] == "Coordinator"
    assert error["current_version"] == 2
    assert "Coordinator" in error["message"] and "Accepted" in error["message"]
    db.session.expire_all()
    assert db.session.get(Report, r.id).status == "accepted"


def test_stale_version_wins_over_a_move_the_new_status_forbids(client, cast):
    r = cast.report_in("submitted")
    assert move(client, r.id, {"to": "accepted", "version": 1}, cast.headers["coordinator"]).status_code == 200
    # The other page still shows "submitted": its "accept" is now illegal, but what it needs to hear is "stale".
    resp = move(client, r.id, {"to": "accepted", "version": 1}, cast.headers["admin"])
    assert (resp.status_code, resp.get_json()["error"]["code"]) == (409, "stale_version")


def test_a_move_without_a_version_is_refused(client, cast):
    r = cast.report_in("submitted")
    resp = move(client, r.id, {"to": "accepted"}, cast.headers["coordinator"])
    assert (resp.status_code, resp.get_json()["error"]["code"]) == (400, "version_required")


def test_priority_edit_makes_a_pending_move_stale(client, cast, app):
    from app.triage import services

    r = cast.report_in("submitted")
    services.set_priority(r, cast.users["admin"], "urgent", version=1)
    db.session.commit()
    resp = move(client, r.id, {"to": "accepted", "version": 1}, cast.headers["coordinator"])
    assert resp.status_code == 409
    assert "Admin" in resp.get_json()["error"]["message"]


MISSING = [
    ("submitted", "rejected", "note_required"),
    ("accepted", "rejected", "note_required"),
    ("in_progress", "resolved", "note_required"),
    ("resolved", "in_progress", "note_required"),
    ("closed", "accepted", "note_required"),
    ("resolved", "closed", "outcome_required"),
    ("accepted", "assigned", "assignee_required"),
    ("submitted", "duplicate", "duplicate_required"),
]


def test_a_move_without_what_it_needs_is_refused(client, cast):
    for current, target, missing in MISSING:
        r = cast.report_in(current)
        resp = move(client, r.id, {"to": target, "version": r.version, "note": "  "}, cast.headers["coordinator"])
        assert (resp.status_code, resp.get_json()["error"]["code"]) == (400, missing), (current, target)
        db.session.expire_all()
        assert db.session.get(Report, r.id).version == 1


def test_close_refuses_an_outcome_outside_the_three(client, cast):
    r = cast.report_in("resolved")
    resp = move(client, r.id, {"to": "closed", "version": 1, "outcome": "done"}, cast.headers["coordinator"])
    assert resp.get_json()["error"]["code"] == "outcome_required"


def test_unknown_status_is_an_invalid_transition(client, cast):
    r = cast.report_in("submitted")
    resp = move(client, r.id, {"to": "finished", "version": 1}, cast.headers["coordinator"])
    assert (resp.status_code, resp.get_json()["error"]["code"]) == (409, "invalid_transition")


def test_dispatch_records_assignee_and_department_and_report_json_shows_them(client, cast):
    r = cast.report_in("accepted", assignee_id=None)
    resp = move(
        client,
        r.id,
        {
            "to": "assigned",
            "version": 1,
            "assignee": cast.users["handler_assigned"].id,
            "department": "urban_management",
        },
        cast.headers["coordinator"],
    )
    body = resp.get_json()
    assert resp.status_code == 200
    assert (body["assignee"], body["department"], body["version"]) == ("Handler_Assigned", "urban_management", 2)
    assert set(body) >= {"version", "priority", "department", "assignee", "due_at", "overdue"}
    assert body["due_at"] is not None and body["overdue"] is False
    event = db.session.scalar(
        select(ReportEvent).where(ReportEvent.report_id == r.id, ReportEvent.kind == "transition")
    )
    assert event.details["assignee"] == cast.users["handler_assigned"].id
    assert event.details["department"] == "urban_management"


def test_close_records_the_outcome(client, cast):
    r = cast.report_in("resolved")
    body = move(
        client, r.id, {"to": "closed", "version": 1, "outcome": "unable_to_fix"}, cast.headers["coordinator"]
    ).get_json()
    assert (body["status"], body["outcome"]) == ("closed", "unable_to_fix")


def test_marking_a_duplicate_makes_its_rider_a_co_reporter_of_the_target(client, cast):
    r = cast.report_in("submitted")
    body = move(
        client,
        r.id,
        {"to": "duplicate", "version": 1, "duplicate_of": cast.original.reference},
        cast.headers["coordinator"],
    ).get_json()
    assert (body["status"], body["duplicate_of"]) == ("duplicate", cast.original.reference)
    co = db.session.get(CoReporter, (cast.original.id, cast.users["rider_owner"].id))
    assert co is not None and co.duplicate_id == r.id
    # ...so they follow the target in their own list, and may see it
    mine = client.get("/api/v1/reports?mine=1", headers=cast.headers["rider_owner"]).get_json()
    assert cast.original.reference in [i["reference"] for i in mine["items"]]
    assert client.get(f"/api/v1/reports/{cast.original.id}", headers=cast.headers["rider_owner"]).status_code == 200


def test_a_report_cannot_duplicate_itself_or_a_rejected_one(client, cast):
    r = cast.report_in("submitted")
    own = move(client, r.id, {"to": "duplicate", "version": 1, "duplicate_of": r.id}, cast.headers["coordinator"])
    assert own.get_json()["error"]["code"] == "duplicate_self"
    rejected = cast.report_in("rejected")
    resp = move(
        client, r.id, {"to": "duplicate", "version": 1, "duplicate_of": rejected.id}, cast.headers["coordinator"]
    )
    assert resp.get_json()["error"]["code"] == "duplicate_of_duplicate"


def test_handler_takes_a_report_from_assigned_to_in_progress_to_resolved(client, cast):
    r = cast.report_in("assigned")
    h = cast.headers["handler_department"]
    assert move(client, r.id, {"to": "in_progress", "version": 1}, h).status_code == 200
    resolved = move(client, r.id, {"to": "resolved", "version": 2, "note": "cars towed"}, h)
    assert resolved.status_code == 200 and resolved.get_json()["status"] == "resolved"
    # ...but may not verify their own work
    closed = move(client, r.id, {"to": "closed", "version": 3, "outcome": "fixed"}, h)
    assert closed.status_code == 403


def test_resolve_with_an_after_photo_goes_through_the_photo_pipeline(client, cast):
    r = cast.report_in("in_progress")
    big = f.jpeg(2400, 1800)
    resp = client.post(
        f"/api/v1/reports/{r.id}/transitions",
        headers=cast.headers["handler_assigned"],
        data={
            "to": "resolved",
            "version": "1",
            "note": "repaired",
            "after_photo": (__import__("io").BytesIO(big), "after.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200, resp.get_json()
    after = resp.get_json()["after_photos"]
    assert len(after) == 1 and after[0]["kind"] == "after"
    photo = db.session.get(Photo, after[0]["id"])
    assert max(photo.width, photo.height) <= 1600  # re-encoded to the display size, like every photo
    event = db.session.scalar(
        select(ReportEvent).where(ReportEvent.report_id == r.id, ReportEvent.to_status == "resolved")
    )
    assert photo.event_id == event.id


def test_an_after_photo_that_is_not_an_image_changes_nothing(client, cast):
    r = cast.report_in("in_progress")
    resp = client.post(
        f"/api/v1/reports/{r.id}/transitions",
        headers=cast.headers["coordinator"],
        data={
            "to": "resolved",
            "version": "1",
            "note": "repaired",
            "after_photo": (__import__("io").BytesIO(b"not a photo"), "after.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code in (400, 415)
    db.session.expire_all()
    assert db.session.get(Report, r.id).status == "in_progress"


def test_rider_may_comment_and_add_a_photo_to_their_own_report_but_not_move_it(client, cast):
    r = cast.report_in("assigned")
    rider = cast.headers["rider_owner"]
    comment = client.post(
        f"/api/v1/reports/{r.id}/comments", json={"note": "still there", "internal": True}, headers=rider
    )
    assert comment.status_code == 201
    assert comment.get_json()["internal"] is False  # a rider's comment is never hidden from them
    photo = client.post(
        f"/api/v1/reports/{r.id}/photos",
        headers=rider,
        content_type="multipart/form-data",
        data={"photos": (__import__("io").BytesIO(f.jpeg()), "still.jpg"), "comment": "today"},
    )
    assert photo.status_code == 201
    assert photo.get_json()["event"]["kind"] == "photo"
    assert move(client, r.id, {"to": "in_progress", "version": r.version}, rider).status_code == 403
    db.session.expire_all()
    assert db.session.get(Report, r.id).status == "assigned"


def test_rider_may_not_comment_on_someone_elses_report(client, cast):
    r = cast.report_in("accepted")
    resp = client.post(f"/api/v1/reports/{r.id}/comments", json={"note": "me too"}, headers=cast.headers["rider_other"])
    assert resp.status_code == 403


def test_handler_of_another_department_may_not_comment(client, cast):
    r = cast.report_in("assigned")
    resp = client.post(
        f"/api/v1/reports/{r.id}/comments", json={"note": "not mine"}, headers=cast.headers["handler_other"]
    )
    assert resp.status_code == 403


def test_reopening_a_closed_report_clears_the_outcome_and_sets_a_new_deadline(client, cast):
    r = cast.report_in("closed")
    body = move(
        client, r.id, {"to": "accepted", "version": 1, "note": "it is back"}, cast.headers["coordinator"]
    ).get_json()
    assert (body["status"], body["outcome"]) == ("accepted", None)
    db.session.expire_all()
    fresh = db.session.get(Report, r.id)
    assert fresh.resolve_due_at > fresh.accepted_at


def test_recall_clears_the_assignee(client, cast):
    r = cast.report_in("assigned")
    body = move(client, r.id, {"to": "accepted", "version": 1}, cast.headers["coordinator"]).get_json()
    assert (body["status"], body["assignee"]) == ("accepted", None)


def test_of_two_coordinators_racing_only_the_first_write_counts(cast):
    """Both read version 1; the other one commits first (here on its own connection): the loser's
    UPDATE ... WHERE version = 1 finds no row and the move is refused, nothing overwritten."""
    from sqlalchemy import text, update

    from app.errors import StaleReport
    from app.triage import services

    r = cast.report_in("submitted")
    assert r.version == 1  # loaded in this session, and kept as it is (no refresh)
    with db.engine.connect() as other:
        other.execute(update(Report).where(Report.id == r.id).values(status="accepted", version=2))
        other.commit()
    with pytest.raises(StaleReport):
        services.transition(r, cast.users["admin"], "rejected", version=1, note="blurred")
    db.session.rollback()
    assert db.session.execute(text("SELECT status, version FROM report WHERE id = :i"), {"i": r.id}).one() == (
        "accepted",
        2,
    )


def test_first_acceptance_is_kept_through_recall_close_and_reopen(app, cast):
    """What the acceptance points are dated by: accepted_at follows the latest acceptance, first_accepted_at
    stays at the first; closed_at is the latest close."""
    from datetime import datetime, timedelta

    from app.triage import services

    r = cast.report_in("submitted")
    admin, t0 = cast.users["admin"], datetime(2026, 5, 4, 2, 0, tzinfo=UTC)
    steps = [
        ("accepted", {}),
        ("assigned", {"assignee_id": cast.users["handler_assigned"].id}),
        ("accepted", {"note": "recalled"}),
        ("assigned", {"assignee_id": cast.users["handler_assigned"].id}),
        ("resolved", {"note": "fixed"}),
        ("closed", {"outcome": "fixed"}),
        ("accepted", {"note": "it came back"}),
        ("rejected", {"note": "wrong place"}),
        ("accepted", {"note": "right place after all"}),
        ("assigned", {"assignee_id": cast.users["handler_assigned"].id}),
        ("resolved", {"note": "fixed again"}),
        ("closed", {"outcome": "fixed"}),
    ]
    for hour, (to, kwargs) in enumerate(steps, start=1):
        services.transition(r, admin, to, version=r.version, now=t0 + timedelta(hours=hour), **kwargs)
        db.session.commit()
        db.session.refresh(r)
        assert r.first_accepted_at == t0 + timedelta(hours=1)
    assert r.accepted_at == t0 + timedelta(hours=9)
    assert r.closed_at == t0 + timedelta(hours=12)
