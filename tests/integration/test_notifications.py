"""Notifications: written with their move, delivered by the worker's pass, retried, escalations, the bell."""

import json
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Department, ReportEvent, User
from app.notify.delivery import backoff, deliver_due
from app.notify.escalation import run_pass
from app.notify.models import Channel, Delivery, DeliveryState, JobMark, Notification
from app.notify.outbox import after_quiet_hours, parse_quiet_hours
from app.triage.services import transition
from tests.factories import api_token, bearer, file_report, log_in, make_user
from tests.stand_in import stand_in

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Qianwei, a Monday


def people():
    rider = make_user("rider1")
    coord = make_user("coord1", role="coordinator")
    dept = db.session.scalar(select(Department).where(Department.code == "traffic_police"))
    handler = make_user("handler1", role="handler", department_id=dept.id, phone="13812345678")
    return rider, coord, handler, dept


def hazard_dispatched_to(dept, rider, coord):
    """A hazard report (never held by quiet hours) accepted and dispatched to `dept`; the report and the
    delivery to the department's robot."""
    r = file_report(rider, category="elevator_hazard")
    transition(r, coord, "accepted", version=r.version)
    transition(r, coord, "assigned", version=r.version, department_id=dept.id)
    db.session.commit()
    return r, db.session.scalar(select(Delivery).where(Delivery.channel == Channel.ROBOT.value))


def kinds_for(user) -> list[str]:
    return list(
        db.session.scalars(select(Notification.kind).where(Notification.user_id == user.id).order_by(Notification.id))
    )


def test_a_move_writes_its_notifications_which_the_worker_delivers_once(app):
    rider, coord, handler, dept = people()
    r = file_report(rider)
    transition(r, coord, "accepted", version=r.version)
    transition(r, coord, "assigned", version=r.version, assignee_id=handler.id)
    db.session.commit()
    # Filing: the reference in the app, and the rider's first badge; the acceptance, and its points.
    assert kinds_for(rider) == ["received", "badge", "accepted", "points"] and kinds_for(handler) == ["dispatched"]
    from app.notify.services import unread_count

    assert unread_count(rider) == 0  # written, not yet delivered
    assert deliver_due() >= 5
    assert unread_count(rider) == 4 and unread_count(handler) == 1
    assert deliver_due() == 0  # nothing twice
    assert unread_count(rider) == 4


def test_a_move_that_rolls_back_leaves_no_notification(app):
    rider, coord, handler, dept = people()
    r = file_report(rider)
    before = (
        db.session.scalar(select(func.count()).select_from(Notification)),
        db.session.scalar(select(func.count()).select_from(Delivery)),
    )
    transition(r, coord, "accepted", version=r.version)
    assert db.session.scalar(select(func.count()).select_from(Notification)) == before[0] + 2  # accepted, points
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Notification)) == before[0]
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == before[1]


def test_a_new_hazard_report_tells_the_coordinators(app):
    rider, coord, handler, dept = people()
    file_report(rider, category="elevator_hazard")
    file_report(rider, category="noise")
    assert kinds_for(coord) == ["new_hazard"]


class Flaky(BaseHTTPRequestHandler):
    """A generic webhook receiver that answers 500 `fail` times, then 200, recording every body."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((self.headers, json.loads(body)))
        status = 500 if len(self.server.requests) <= self.server.fail else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_webhook_failing_twice_is_delivered_on_the_third_try_with_growing_waits(app):
    rider, coord, handler, dept = people()
    with stand_in(Flaky, fail=2) as receiver:
        dept.webhook_kind, dept.webhook_url, dept.webhook_secret = "generic", receiver.base + "/hook", "s3cret"
        db.session.commit()
        r, robot = hazard_dispatched_to(dept, rider, coord)
        now = datetime.now(UTC)
        waits = []
        for _try in range(3):
            deliver_due(now)
            db.session.refresh(robot)
            if robot.state != DeliveryState.SENT.value:
                waits.append((robot.next_attempt_at - now).total_seconds())
                now = robot.next_attempt_at
        assert robot.state == DeliveryState.SENT.value and robot.attempts == 3
        assert len(receiver.requests) == 3
        assert 15 <= waits[0] <= 30, "the first retry comes within 30 s"
        assert 30 <= waits[1] <= 60, "the second wait is twice the first (before jitter)"
        keys = {h.get("X-GridSnap-Delivery") for h, _body in receiver.requests}
        assert keys == {robot.key}, "every attempt carries the same delivery key"
        assert receiver.requests[-1][1]["kind"] == "dispatched"


@pytest.mark.parametrize(
    ("locale", "says"),
    [("zh_CN", ["编号：GS-", "[查看详情](http"]), ("en", ["Reference: GS-", "[View details](http"])],
)
def test_a_group_robots_message_is_written_in_the_countys_language_link_included(app, locale, says):
    from tests.unit.test_robots import RobotStandIn

    app.config["BABEL_DEFAULT_LOCALE"] = locale
    rider, coord, handler, dept = people()
    try:
        with stand_in(RobotStandIn, secrets={}, canned=None, delay=0.0) as robots:
            dept.webhook_kind, dept.webhook_url = "wecom", robots.base + "/wecom?key=KEY"
            db.session.commit()
            _r, robot = hazard_dispatched_to(dept, rider, coord)
            deliver_due(datetime.now(UTC))  # a hazard: not held by quiet hours
            db.session.refresh(robot)
            assert robot.state == DeliveryState.SENT.value, robot.last_error
            content = robots.requests[0]["json"]["markdown"]["content"]
            assert all(s in content for s in says), content
    finally:
        app.config["BABEL_DEFAULT_LOCALE"] = "zh_CN"


def test_backoff_doubles_with_jitter_and_is_capped():
    assert backoff(1, rng=lambda: 0.0) == 15 and backoff(1, rng=lambda: 0.999) < 30
    assert backoff(2, rng=lambda: 0.0) == 30 and backoff(3, rng=lambda: 0.0) == 60
    assert backoff(30, rng=lambda: 0.0) == 3600


def test_a_delivery_that_keeps_failing_is_dead_after_a_day_and_the_admins_hear_of_it(app):
    from app.notify.periodic import tell_admins_of_dead_deliveries

    rider, coord, handler, dept = people()
    admin = make_user("admin1", role="admin")
    dept.webhook_kind, dept.webhook_url = "generic", "http://127.0.0.1:9/nothing-listens-here"
    db.session.commit()
    r, robot = hazard_dispatched_to(dept, rider, coord)
    now = robot.created_at
    for _ in range(40):
        deliver_due(now)
        db.session.refresh(robot)
        if robot.state == DeliveryState.DEAD.value:
            break
        now = robot.next_attempt_at
    assert robot.state == DeliveryState.DEAD.value
    assert now - robot.created_at <= timedelta(hours=24)
    assert tell_admins_of_dead_deliveries(now) == 1
    db.session.commit()
    assert "dead_deliveries" in kinds_for(admin)
    assert tell_admins_of_dead_deliveries(now + timedelta(minutes=1)) == 0, "each dead delivery is told once"


def test_quiet_hours_hold_outside_channels_but_not_hazards(app):
    from zoneinfo import ZoneInfo

    quiet, zone = parse_quiet_hours("22:00-07:00"), ZoneInfo("Asia/Shanghai")
    night = datetime(2026, 12, 7, 23, 30, tzinfo=zone).astimezone(UTC)
    morning = after_quiet_hours(night, quiet, zone)
    assert morning.astimezone(zone) == datetime(2026, 12, 8, 7, 0, tzinfo=zone)
    early = datetime(2026, 12, 8, 6, 59, tzinfo=zone).astimezone(UTC)
    assert after_quiet_hours(early, quiet, zone).astimezone(zone) == datetime(2026, 12, 8, 7, 0, tzinfo=zone)
    day = datetime(2026, 12, 8, 7, 0, tzinfo=zone).astimezone(UTC)
    assert after_quiet_hours(day, quiet, zone) == day

    from app.notify.outbox import notify

    rider, coord, handler, dept = people()
    dept.webhook_kind, dept.webhook_url = "generic", "http://127.0.0.1:9/x"
    r = file_report(rider)
    plain = notify("dispatched", users=[handler], department=dept, report=r, now=night, sms=True)
    urgent = notify("dispatched", users=[handler], department=dept, report=r, now=night, hazard=True, sms=True)
    by_channel = lambda ns: {d.channel: d.next_attempt_at for n in ns for d in n.deliveries}  # noqa: E731
    assert by_channel(plain)["robot"] == morning and by_channel(plain)["app"] == night
    assert "sms" not in by_channel(plain), "a non-hazard goes by SMS only to those who opted in"
    assert by_channel(urgent)["robot"] == night and by_channel(urgent)["sms"] == night


def test_escalation_comes_at_the_deadline_not_a_second_before(app):
    rider, coord, handler, dept = people()
    r = file_report(rider)  # illegal parking: 24 h to accept
    due = r.accept_due_at
    db.session.add(JobMark(name="escalation", ran_until=due - timedelta(minutes=1)))
    db.session.commit()
    assert run_pass(due - timedelta(seconds=1)) == []
    done = run_pass(due + timedelta(seconds=1))
    db.session.commit()
    assert [(e.report_id, e.deadline, e.level) for e in done] == [(r.id, "accept", 1)]
    events = db.session.scalars(select(ReportEvent).where(ReportEvent.kind == "escalated")).all()
    assert len(events) == 1 and events[0].details["level"] == 1
    assert "escalated" in kinds_for(coord), "a report nobody accepted is the coordinators' to act on"
    # Each level once per deadline, even when a pass looks at the same moment again.
    db.session.get(JobMark, "escalation").ran_until = due - timedelta(minutes=5)
    assert run_pass(due + timedelta(seconds=2)) == []
    # Twice the allowed time: level 2.
    late = run_pass(due + timedelta(hours=24, seconds=1))
    assert [(e.deadline, e.level) for e in late] == [("accept", 2)]


def test_hazards_are_warned_at_half_the_time(app):
    rider, coord, handler, dept = people()
    r = file_report(rider, category="elevator_hazard")  # 2 h to accept: a warning at 1 h
    db.session.add(JobMark(name="escalation", ran_until=r.created_at))
    db.session.commit()
    done = run_pass(r.created_at + timedelta(minutes=61), dry_run=True)
    assert [(e.deadline, e.level) for e in done] == [("accept", 0)]
    assert (
        db.session.scalar(select(func.count()).select_from(ReportEvent).where(ReportEvent.kind == "escalated")) == 0
    ), "a dry run records nothing"


def test_the_escalate_command_says_what_a_moment_would_escalate(app, runner):
    rider, coord, handler, dept = people()
    r = file_report(rider)
    db.session.add(JobMark(name="escalation", ran_until=r.created_at))
    db.session.commit()
    at = (r.accept_due_at + timedelta(seconds=1)).isoformat()
    out = runner.invoke(args=["escalate", "--at", at, "--dry-run"])
    assert out.exit_code == 0, out.output
    assert f"would escalate report {r.id}: accept deadline" in out.output
    assert runner.invoke(args=["escalate", "--at", "yesterday"]).exit_code != 0


def test_the_bell_api_lists_and_marks_read(app, client):
    rider, coord, handler, dept = people()
    r = file_report(rider)
    transition(r, coord, "accepted", version=r.version)
    db.session.commit()
    deliver_due()
    headers = bearer(api_token(rider))
    answer = client.get("/api/v1/notifications", headers=headers).get_json()
    assert answer["unread"] == 4  # the reference, the first badge, the acceptance and its points
    assert [i["kind"] for i in answer["items"]] == ["points", "accepted", "badge", "received"]  # newest first
    item = answer["items"][1]
    assert item["kind"] == "accepted" and item["report"] == {"id": r.id, "reference": r.reference}
    assert r.reference in item["title"] and item["read"] is False
    assert client.get("/api/v1/notifications?unread=1", headers=headers).get_json()["items"]
    bad = client.post("/api/v1/notifications/read", headers=headers, json={"ids": ["x"]})
    assert bad.status_code == 400
    done = client.post("/api/v1/notifications/read", headers=headers, json={"ids": [item["id"]]}).get_json()
    assert done == {"marked": 1, "unread": 3}
    done = client.post("/api/v1/notifications/read", headers=headers, json={"all": True}).get_json()
    assert done == {"marked": 3, "unread": 0}
    assert client.get("/api/v1/notifications?unread=1", headers=headers).get_json()["items"] == []
    # Someone else's notification cannot be marked.
    other = bearer(api_token(coord))
    assert (
        client.post("/api/v1/notifications/read", headers=other, json={"ids": [item["id"]]}).get_json()["marked"] == 0
    )


def test_the_bell_in_the_header_counts_unread_and_the_page_lists_them(app, client):
    rider, coord, handler, dept = people()
    r = file_report(rider)
    transition(r, coord, "accepted", version=r.version)
    db.session.commit()
    deliver_due()
    log_in(client, db.session.get(User, rider.id))
    page = client.get(f"/reports/{r.id}").get_data(as_text=True)
    assert "data-bell-count>4<" in page  # the reference, the first badge, the acceptance and its points
    listing = client.get("/notifications").get_data(as_text=True)
    assert r.reference in listing and "accepted" in listing


@pytest.mark.parametrize("payload", [{"ids": "1"}, {}, [1], {"all": "yes"}])
def test_marking_read_refuses_odd_bodies(app, client, payload):
    rider = make_user("rider1")
    headers = bearer(api_token(rider))
    answer = client.post("/api/v1/notifications/read", headers=headers, json=payload)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] in ("invalid_body", "invalid_ids")


def test_the_department_webhook_command_checks_the_address(app, runner):
    ok = runner.invoke(
        args=[
            "department",
            "webhook",
            "traffic_police",
            "https://oapi.dingtalk.com/robot/send?access_token=x",
            "--kind",
            "dingtalk",
            "--secret",
            "SEC1",
        ]
    )
    assert ok.exit_code == 0, ok.output
    dept = db.session.scalar(select(Department).where(Department.code == "traffic_police"))
    db.session.refresh(dept)
    assert dept.webhook_kind == "dingtalk" and dept.webhook_secret == "SEC1"
    bad = runner.invoke(args=["department", "webhook", "traffic_police", "https://evil.example/x", "--kind", "wecom"])
    assert bad.exit_code != 0
    gone = runner.invoke(args=["department", "webhook", "traffic_police"])
    assert gone.exit_code == 0
    db.session.refresh(dept)
    assert dept.webhook_url is None


def test_admins_see_dead_deliveries_and_retry_them(app, client):
    from tests.factories import csrf_from

    rider, coord, handler, dept = people()
    admin = make_user("admin1", role="admin")
    dept.webhook_kind, dept.webhook_url = "generic", "http://127.0.0.1:9/x"
    db.session.commit()
    r, robot = hazard_dispatched_to(dept, rider, coord)
    robot.state, robot.last_error = DeliveryState.DEAD.value, "connection refused"
    db.session.commit()
    log_in(client, db.session.get(User, coord.id))
    assert client.get("/admin/deliveries").status_code == 403
    log_in(client, db.session.get(User, admin.id))
    page = client.get("/admin/deliveries").get_data(as_text=True)
    assert "connection refused" in page and r.reference in page
    assert client.post("/admin/deliveries/retry", data={"id": robot.id}).status_code == 400, "CSRF"
    done = client.post("/admin/deliveries/retry", data={"id": robot.id, "csrf_token": csrf_from(page)})
    assert done.status_code == 302
    db.session.refresh(robot)
    assert robot.state == DeliveryState.PENDING.value and robot.attempts == 0


def test_admins_set_a_departments_robot_on_its_page(app, client):
    from tests.factories import csrf_from

    admin = make_user("admin1", role="admin")
    dept = db.session.scalar(select(Department).where(Department.code == "traffic_police"))
    log_in(client, db.session.get(User, admin.id))
    page = client.get(f"/admin/departments/{dept.id}").get_data(as_text=True)
    url = "https://open.feishu.cn/open-apis/bot/v2/hook/abc"
    client.post(
        f"/admin/departments/{dept.id}/webhook",
        data={"csrf_token": csrf_from(page), "kind": "feishu", "url": url, "secret": "robot-secret-7Qx"},
    )
    db.session.refresh(dept)
    assert (dept.webhook_kind, dept.webhook_url, dept.webhook_secret) == ("feishu", url, "robot-secret-7Qx")
    page = client.get(f"/admin/departments/{dept.id}").get_data(as_text=True)
    assert "robot-secret-7Qx" not in page, "the secret is never shown again"
    client.post(
        f"/admin/departments/{dept.id}/webhook",
        data={"csrf_token": csrf_from(page), "kind": "feishu", "url": url, "secret": ""},
    )
    db.session.refresh(dept)
    assert dept.webhook_secret == "robot-secret-7Qx", "an empty secret field keeps the secret"
    bad = client.post(
        f"/admin/departments/{dept.id}/webhook",
        data={"csrf_token": csrf_from(page), "kind": "wecom", "url": "https://evil.example/x"},
    )
    assert bad.status_code == 302
    db.session.refresh(dept)
    assert dept.webhook_kind == "feishu"


def test_users_switch_email_and_sms_on_their_settings_page(app, client):
    from tests.factories import csrf_from

    rider = make_user("rider1")
    log_in(client, db.session.get(User, rider.id))
    page = client.get("/notifications/settings").get_data(as_text=True)
    refused = client.post("/notifications/settings", data={"csrf_token": csrf_from(page), "email": "1"})
    assert refused.status_code == 400 and "email address" in refused.get_data(as_text=True)
    refused = client.post("/notifications/settings", data={"csrf_token": csrf_from(page), "sms": "1"})
    assert refused.status_code == 400
    ok = client.post(
        "/notifications/settings", data={"csrf_token": csrf_from(page), "email": "1", "address": "r1@example.org"}
    )
    assert ok.status_code == 302
    db.session.refresh(rider)
    assert rider.notify_email and rider.email == "r1@example.org" and not rider.notify_sms


def channels_of(user, kind) -> list[str]:
    n = db.session.scalar(
        select(Notification)
        .where(Notification.user_id == user.id, Notification.kind == kind)
        .order_by(Notification.id.desc())
    )
    return sorted(d.channel for d in n.deliveries)


def test_each_kind_of_message_is_switched_on_or_off_per_channel(app, client):
    """Within a channel switched on, a user ticks the kinds they want: the rows follow their role, what is not
    ticked is off, and a kind they cannot receive is refused with nothing changed."""
    from tests.factories import csrf_from

    rider, coord, handler, dept = people()
    rider.notify_email, rider.email = True, "r1@example.org"
    db.session.commit()
    log_in(client, db.session.get(User, rider.id))
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert "My report was accepted" in page and "A report was dispatched to me" not in page
    assert page.count('name="on"') == 6  # five by email, "is it fixed?" by text too
    base = {"csrf_token": csrf_from(page), "email": "1", "address": "r1@example.org", "kinds": "1"}
    wanted = ["email:accepted", "email:rejected", "email:duplicate", "email:closed", "sms:resolved"]
    refused = client.post("/notifications/settings", data={**base, "on": [*wanted, "email:dispatched"]})
    assert refused.status_code == 400 and "not a kind of message" in refused.get_data(as_text=True)
    db.session.refresh(rider)
    assert not rider.notify_off
    assert client.post("/notifications/settings", data={**base, "on": wanted}).status_code == 302
    db.session.refresh(rider)
    assert rider.notify_off == ["email:resolved"]
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert 'value="email:resolved" aria' in page and 'value="email:accepted" checked' in page

    r = file_report(rider)
    transition(r, coord, "accepted", version=r.version)
    transition(r, coord, "assigned", version=r.version, assignee_id=handler.id)
    transition(r, handler, "in_progress", version=r.version)
    transition(r, handler, "resolved", version=r.version, note="towed")
    db.session.commit()
    assert channels_of(rider, "accepted") == ["app", "email"]
    assert channels_of(rider, "resolved") == ["app"]  # turned off by email; text messages are off altogether


def test_a_handler_who_turned_off_dispatch_texts_still_gets_a_hazards(app):
    rider, coord, handler, dept = people()
    from app.notify.services import set_kinds

    handler.notify_sms = True
    set_kinds(handler, ["sms:escalated"])  # every email and the dispatch texts off
    db.session.commit()
    r = file_report(rider)
    transition(r, coord, "accepted", version=r.version)
    transition(r, coord, "assigned", version=r.version, assignee_id=handler.id)
    db.session.commit()
    assert channels_of(handler, "dispatched") == ["app"]
    hazard = file_report(rider, category="elevator_hazard")
    transition(hazard, coord, "accepted", version=hazard.version)
    transition(hazard, coord, "assigned", version=hazard.version, assignee_id=handler.id)
    db.session.commit()
    assert channels_of(handler, "dispatched") == ["app", "sms"]


def test_an_opted_in_rider_gets_an_email_with_a_link(app):
    from email import message_from_bytes
    from email.header import decode_header, make_header

    from tests.conftest import need
    from tests.servers import SmtpCatcher

    need(SmtpCatcher.available(), "aiosmtpd not installed: pip install aiosmtpd")
    inbox = SmtpCatcher().start()
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=inbox.port,
        SMTP_TLS="",
        SMTP_USER="",
        SMTP_SENDER="gridsnap@example.org",
        BASE_URL="https://gridsnap.example.org",
        NOTIFY_QUIET_HOURS="off",
    )
    try:
        rider, coord, handler, dept = people()
        rider.notify_email, rider.email = True, "r1@example.org"
        db.session.commit()
        r = file_report(rider)
        transition(r, coord, "accepted", version=r.version)
        db.session.commit()
        deliver_due()
        email = db.session.scalar(select(Delivery).where(Delivery.channel == Channel.EMAIL.value))
        assert email.state == DeliveryState.SENT.value
        assert [env.rcpt_tos for env in inbox.envelopes] == [["r1@example.org"]]
        msg = message_from_bytes(inbox.envelopes[0].content)
        assert r.reference in str(make_header(decode_header(msg["Subject"])))
        assert msg["X-GridSnap-Delivery"] == email.key
        text = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True)
        assert f"https://gridsnap.example.org/reports/{r.id}".encode() in text
    finally:
        inbox.stop()


def test_the_board_shows_the_escalation_level(app, client):
    rider, coord, handler, dept = people()
    r = file_report(rider)
    db.session.add(JobMark(name="escalation", ran_until=r.created_at))
    db.session.commit()
    run_pass(r.accept_due_at + timedelta(hours=24, seconds=1))
    db.session.commit()
    log_in(client, db.session.get(User, coord.id))
    page = client.get("/board").get_data(as_text=True)
    row = page.split(f'data-id="{r.id}"')[1].split("</tr>")[0]
    assert 'escalation" data-level="2"' in row and 'class="escalated"' in page  # the row's tier: escalated


def test_deadlines_in_messages_are_local_time_in_the_readers_language(app):
    from app.notify.messages import Kind, render

    due = datetime(2026, 12, 8, 1, 0, tzinfo=UTC).isoformat()  # 09:00 in Qianwei
    _title, body = render(Kind.DISPATCHED, {"reference": "GS-1", "category": "noise", "due": due}, "en")
    assert "9:00" in body and "+00:00" not in body and "2026-12-08T" not in body


def test_the_half_time_warning_never_goes_by_sms_as_overdue(app):
    from app.notify.messages import Kind
    from app.notify.outbox import notify

    rider, coord, handler, dept = people()
    handler.notify_sms = True
    r = file_report(rider, category="elevator_hazard")
    made = notify(Kind.ESCALATION_WARNING, users=[handler], report=r, hazard=True, sms=True)
    assert {d.channel for n in made for d in n.deliveries} == {"app"}


def test_an_accepted_report_nobody_dispatched_is_escalated_to_the_coordinators(app):
    rider, coord, handler, dept = people()
    r = file_report(rider)
    transition(r, coord, "accepted", version=r.version)
    db.session.add(JobMark(name="escalation", ran_until=r.resolve_due_at - timedelta(minutes=1)))
    db.session.commit()
    done = run_pass(r.resolve_due_at + timedelta(seconds=1))
    db.session.commit()
    assert [(e.deadline, e.level) for e in done] == [("resolve", 1)]
    assert "escalated" in kinds_for(coord)


def test_the_escalate_command_runs_a_future_moment_only_as_a_dry_run(app, runner):
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    assert runner.invoke(args=["escalate", "--at", later]).exit_code != 0
    assert runner.invoke(args=["escalate", "--at", later, "--dry-run"]).exit_code == 0
    assert db.session.get(JobMark, "escalation") is None, "nothing moved the mark"


def test_one_worker_at_a_time_runs_the_periodic_jobs_on_postgresql(app):
    from sqlalchemy import text

    from app.notify.periodic import PERIODIC_LOCK, only_one_worker

    if db.engine.dialect.name != "postgresql":
        assert only_one_worker()  # SQLite: the one worker
        return
    with db.engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": PERIODIC_LOCK})
        try:
            assert not only_one_worker(), "another worker holds the periodic jobs"
        finally:
            other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PERIODIC_LOCK})
    db.session.rollback()
    assert only_one_worker()


def test_marking_more_ids_than_a_request_may_is_refused(app, client):
    rider = make_user("rider1")
    answer = client.post(
        "/api/v1/notifications/read", headers=bearer(api_token(rider)), json={"ids": list(range(1, 502))}
    )
    assert answer.status_code == 400


def test_a_wrong_quiet_hours_setting_is_told_at_start_up(app):
    from app import create_app

    with pytest.raises(ValueError, match="GRIDSNAP_QUIET_HOURS"):
        create_app(
            {"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x", "NOTIFY_QUIET_HOURS": "22-7am"}
        )
