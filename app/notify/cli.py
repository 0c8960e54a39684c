"""Commands: the worker, and a department's group robot."""

from datetime import UTC

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app.extensions import db
from app.models import utcnow

department_cli = AppGroup("department", help="Handling departments.")


@click.command("worker")
@click.option(
    "--poll",
    type=click.FloatRange(min=0.05),
    default=0.5,
    show_default=True,
    help="Seconds between looks at an empty outbox.",
)
@with_appcontext
def worker_command(poll):
    """Deliver notifications and run the periodic jobs until SIGTERM."""
    from app.notify.periodic import every_minute
    from app.notify.worker import Worker

    worker = Worker(current_app._get_current_object(), poll=poll, periodic=every_minute)
    worker.install_signals()
    worker.run()


@click.command("escalate")
@click.option("--at", "at", default=None, help="The moment to escalate up to (ISO-8601; default now).")
@click.option("--dry-run", is_flag=True, help="Only list what would be escalated.")
def escalate_command(at, dry_run):
    """Run one escalation pass (for cron without the worker, or to see what a moment would escalate)."""
    from datetime import datetime

    from app.notify.escalation import run_pass

    when = None
    if at:
        try:
            when = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter("use ISO-8601, e.g. 2026-12-07T09:30:00+08:00", param_hint="--at") from None
        if when.tzinfo is None:
            raise click.BadParameter("give the time zone, e.g. +08:00", param_hint="--at")
        when = when.astimezone(UTC)
        if when > utcnow() and not dry_run:  # it would escalate early and hold the worker back until then
            raise click.BadParameter("a moment in the future is only for --dry-run", param_hint="--at")
    done = run_pass(when, dry_run=dry_run)
    if not dry_run:
        db.session.commit()
    for e in done:
        click.echo(
            f"{'would escalate' if dry_run else 'escalated'} report {e.report_id}: {e.deadline} deadline "
            f"{e.due.isoformat()}, level {e.level}"
        )
    click.echo(f"{len(done)} escalation(s)")


@department_cli.command("webhook")
@click.argument("code")
@click.argument("url", required=False, default="")
@click.option("--kind", type=click.Choice(["wecom", "dingtalk", "feishu", "generic"]), default="generic")
@click.option("--secret", default="", help="The signing secret (DingTalk, Feishu, generic).")
def webhook_command(code, url, kind, secret):
    """Set (or, without URL, remove) the group robot of department CODE."""
    from app.errors import DomainError
    from app.notify.services import set_webhook

    try:
        dept = set_webhook(code, url, kind, secret)
    except DomainError as err:
        raise click.ClickException(str(err.message)) from err
    db.session.commit()
    click.echo(f"{dept.code}: {dept.webhook_kind or 'no'} robot {'set' if dept.webhook_url else 'removed'}")
