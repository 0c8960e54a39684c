"""Weekly issue summaries: one service builds the figures; the page, JSON, CSV, CLI and email render them;
a complete week is published (frozen) and the archive gives the trends."""

from flask import Blueprint, Flask

bp = Blueprint("summaries", __name__, url_prefix="/summaries")


def init_app(app: Flask) -> None:
    """Publish last week and email its digest when the worker announces a new week."""
    from app import hooks
    from app.summaries import weekly_job

    hooks.register(app, hooks.WEEK_ENDED, weekly_job.on_week_ended)
