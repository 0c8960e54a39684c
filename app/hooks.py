"""Named hooks: a lower feature announces what happened (a report filed, moved) and the features above
that registered for it react (notifications), without the lower one importing them."""

from collections.abc import Callable

from flask import Flask, current_app

FILED = "report_filed"  # (report): a new report, after its rows are flushed
MOVED = "report_moved"  # (report, event): a status move, after its event is flushed
CONFIRMED = "report_confirmed"  # (report, event): a rider's answer to "Is it fixed?" or a passer-by's look
EARNED = "points_earned"  # (user, report, points, why, badges): a rider's points or badges grew with a move
WEEK_ENDED = "week_ended"  # (now): a new local week has begun (the worker's Monday job, once a week)


def register(app: Flask, name: str, fn: Callable) -> None:
    """Call fn whenever `name` is emitted in this app (in the emitter's transaction)."""
    app.extensions.setdefault("gridsnap.hooks", {}).setdefault(name, []).append(fn)


def emit(name: str, *args) -> None:
    """Run the functions registered for `name`; what they write commits or rolls back with the cause."""
    for fn in current_app.extensions.get("gridsnap.hooks", {}).get(name, ()):
        fn(*args)
