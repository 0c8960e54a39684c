"""The long-running worker: delivers the outbox and runs the periodic jobs (escalation every minute)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable

from flask import Flask

from app.extensions import db

log = logging.getLogger("gridsnap.worker")

POLL = 0.5  # seconds between looks at an empty outbox: commit-to-bell stays well under 2 s
PERIOD = 60.0  # escalation runs once a minute


class Worker:
    """Deliver what is due, run the periodic jobs when their time comes, stop cleanly on SIGTERM."""

    def __init__(
        self, app: Flask, *, poll: float = POLL, period: float = PERIOD, periodic: Callable[[], object] | None = None
    ):
        self.app, self.poll, self.period = app, poll, period
        self.periodic = periodic
        self.stop = threading.Event()

    def install_signals(self) -> None:
        """SIGTERM and SIGINT finish the delivery in hand, commit, and end the loop."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop.set())

    def run(self) -> None:
        from app.notify.delivery import deliver_due

        next_periodic = time.monotonic()
        log.info("worker started")
        while not self.stop.is_set():
            with self.app.app_context():
                try:
                    if self.periodic is not None and time.monotonic() >= next_periodic:
                        next_periodic = time.monotonic() + self.period
                        self.periodic()
                    tried = deliver_due(stopping=self.stop.is_set)
                except Exception:  # the database went away for a moment: log, wait, go on
                    log.exception("worker pass failed")
                    db.session.rollback()
                    tried = 0
                finally:
                    db.session.remove()
            if not tried:
                self.stop.wait(self.poll)
        log.info("worker stopped")
