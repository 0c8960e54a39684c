"""Notifications: the outbox written with each move, its delivery by the worker, and the outside channels
(department group robots, SMS, email) each behind a small adapter."""

from flask import Blueprint, Flask

from app.sending import DeliveryFailed

__all__ = ["DeliveryFailed", "bp", "init_app"]

bp = Blueprint("notify", __name__)


def init_app(app: Flask) -> None:
    """Hear of filings and moves (to write notifications in their transaction); the bell's count. The
    blueprint is registered by the factory, with the others."""
    from app import hooks
    from app.notify import outbox, views  # noqa: F401  (the routes)

    try:  # a wrong setting is told at start-up, not by every move that would queue a notification
        outbox.parse_quiet_hours(app.config["NOTIFY_QUIET_HOURS"])
    except ValueError as err:
        raise ValueError(f"GRIDSNAP_QUIET_HOURS must look like 22:00-07:00 (or off): {err}") from err

    hooks.register(app, hooks.FILED, outbox.on_filed)
    hooks.register(app, hooks.MOVED, outbox.on_move)
    hooks.register(app, hooks.CONFIRMED, outbox.on_confirmed)
    hooks.register(app, hooks.EARNED, outbox.on_earned)
    app.context_processor(views.bell)
