"""The worker as a real process: killed mid-delivery and restarted it delivers everything (in-app exactly
once); SIGTERM finishes cleanly; several workers on PostgreSQL never take the same delivery twice."""

import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Department
from app.notify.models import Channel, Delivery, DeliveryState
from app.notify.outbox import notify
from tests.factories import file_report, make_user
from tests.servers import Process, wait_for
from tests.stand_in import stand_in

pytestmark = pytest.mark.servers
N = 12


class SlowReceiver(BaseHTTPRequestHandler):
    """A generic webhook receiver that takes a moment per message and records each delivery key."""

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.requests.append(self.headers.get("X-GridSnap-Delivery"))
        time.sleep(self.server.delay)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def outbox_of(n: int, url: str) -> None:
    """n hazard notifications to a handler (in the app) and a department's robot (at `url`)."""
    rider = make_user("rider1")
    dept = db.session.scalar(select(Department).where(Department.code == "traffic_police"))
    dept.webhook_kind, dept.webhook_url = "generic", url
    handler = make_user("handler1", role="handler", department_id=dept.id)
    r = file_report(rider)
    for _ in range(n):
        notify("dispatched", users=[handler], department=dept, report=r, hazard=True)
    db.session.commit()


def worker(app, tmp_path, name: str) -> Process:
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test",
        "GRIDSNAP_INSTANCE_DIR": str(tmp_path / "instance"),
        "GRIDSNAP_UPLOAD_DIR": app.config["UPLOAD_DIR"],
    }
    return Process(
        [sys.executable, "-m", "flask", "--app", "app", "worker", "--poll", "0.1"],
        env=env,
        log_path=str(tmp_path / f"{name}.log"),
    ).start()


def states() -> dict:
    db.session.expire_all()
    return dict(db.session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all())


def test_a_worker_killed_mid_delivery_and_restarted_delivers_everything(app, tmp_path):
    with stand_in(SlowReceiver, delay=0.2, lock=threading.Lock()) as receiver:
        outbox_of(N, receiver.base + "/hook")
        first = worker(app, tmp_path, "first")
        try:
            wait_for(lambda: len(receiver.requests) >= 3, timeout=60, what="the first deliveries")
            first.proc.send_signal(signal.SIGKILL)  # in the middle of its batch, nothing committed
            first.proc.wait(10)
        finally:
            first.stop()
        second = worker(app, tmp_path, "second")
        total = db.session.scalar(select(func.count()).select_from(Delivery))  # 2 N and the rider's first badge
        try:
            wait_for(lambda: states().get(DeliveryState.SENT.value) == total, timeout=90, what="every delivery")
        finally:
            second.stop()
        keys = set(db.session.scalars(select(Delivery.key).where(Delivery.channel == Channel.ROBOT.value)))
        assert set(receiver.requests) == keys, "every robot message arrived (some twice: at least once)"
        app_rows = db.session.scalars(select(Delivery).where(Delivery.channel == Channel.APP.value)).all()
        assert all(d.attempts == 1 and d.notification.delivered_at for d in app_rows), "in-app exactly once"


def test_sigterm_finishes_the_delivery_in_hand(app, tmp_path):
    with stand_in(SlowReceiver, delay=0.5, lock=threading.Lock()) as receiver:
        outbox_of(N, receiver.base + "/hook")
        proc = worker(app, tmp_path, "term")
        try:
            wait_for(lambda: len(receiver.requests) >= 1, timeout=60, what="a first delivery")
            proc.terminate()
            assert proc.proc.wait(20) == 0
        finally:
            proc.stop()
        sent = db.session.scalars(
            select(Delivery.key).where(
                Delivery.channel == Channel.ROBOT.value, Delivery.state == DeliveryState.SENT.value
            )
        ).all()
        assert sent and set(sent) <= set(receiver.requests), "what it sent before stopping is recorded as sent"
        assert states().get(DeliveryState.SENT.value, 0) < 2 * N, "it stopped before the end"


def test_several_workers_on_postgresql_never_take_the_same_delivery(app, tmp_path):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("one worker on SQLite: sharing the outbox needs PostgreSQL's SKIP LOCKED")
    with stand_in(SlowReceiver, delay=0.05, lock=threading.Lock()) as receiver:
        outbox_of(3 * N, receiver.base + "/hook")
        total = db.session.scalar(select(func.count()).select_from(Delivery))  # 6 N and the rider's first badge
        procs = [worker(app, tmp_path, f"w{i}") for i in range(3)]
        try:
            wait_for(lambda: states().get(DeliveryState.SENT.value) == total, timeout=120, what="every delivery")
        finally:
            for p in procs:
                p.stop()
        assert len(receiver.requests) == 3 * N == len(set(receiver.requests)), "each message sent once"
