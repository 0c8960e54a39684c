"""Command-line interface: thin wrappers over the services."""

import click
from flask import Flask
from flask.cli import AppGroup

from app.extensions import db
from app.models import ROLES, Role

user_cli = AppGroup("user", help="Manage users.")
token_cli = AppGroup("token", help="Manage personal API tokens.")
demo_cli = AppGroup("demo", help="Demo data.")
receipt_cli = AppGroup("receipt", help="Riders' receipts of a stop.")


@user_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default=Role.RIDER.value)
@click.option("--password", default=None, help="Asked for unless --phone is given (then optional).")
@click.option("--team", default=None, help="Volunteer team name (created if missing).")
@click.option("--display-name", default=None)
@click.option("--phone", default=None, help="Mobile number: the user signs in with it and a code by text message.")
def create_user(name, role, password, team, display_name, phone):
    """Create a user."""
    from app.auth.codes import phone_number
    from app.auth.services import create_user as create
    from app.errors import DomainError

    if password is None and phone is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        phone = phone_number(phone) if phone is not None else None
        user = create(name, password, role, team=team, display_name=display_name, phone=phone)
    except DomainError as err:
        raise click.ClickException(str(err.message)) from err
    db.session.commit()
    click.echo(f"created {user.role} {user.username} (id {user.id})")


@token_cli.command("create")
@click.argument("name")
@click.option("--label", default="cli", help="A name for the token.")
def create_token(name, label):
    """Create a personal API token for user NAME; the token is printed alone on the last line."""
    from app.auth.services import create_token as create
    from app.auth.services import get_user
    from app.errors import DomainError

    try:
        user = get_user(name)
    except DomainError as err:
        raise click.ClickException(str(err.message)) from err
    _token, plain = create(user, label)
    db.session.commit()
    click.echo(f"token for {user.username} (shown once, store it safely):")
    click.echo(plain)


@demo_cli.command("load")
@click.option(
    "--reports",
    "synthetic",
    type=click.IntRange(min=0),
    default=0,
    help="Also add N synthetic reports over the last two years (for benchmarks).",
)
@click.option("--if-empty", is_flag=True, help="Only load the demo when the database has no users.")
def demo_load(synthetic, if_empty):
    """Load the Qianwei County demo (accounts, categories, reports with photos)."""
    from app import demo

    if if_empty and not demo.is_empty():
        click.echo("database not empty: demo not loaded")
    else:
        summary = demo.load_demo()
        click.echo(summary)
    if synthetic:
        n = demo.load_synthetic(synthetic)
        click.echo(f"added {n} synthetic reports")


@receipt_cli.command("verify")
@click.argument("token")
def verify_receipt(token):
    """Check a receipt: its signature, its facts, and whether the report stands (exit 1 when not valid)."""
    from app.reports import receipts

    try:
        checked = receipts.check(token)
    except receipts.ReceiptInvalid as err:
        raise click.ClickException(str(err.message)) from err
    facts = checked.facts
    for name in ("ref", "cat", "taken", "filed", "place", "lat", "lon", "status", "issued"):
        click.echo(f"{name}: {facts.get(name) if facts.get(name) is not None else '-'}")
    click.echo(f"status now: {checked.status}")
    if checked.revoked:
        click.echo("REVOKED: the report was rejected as not real")
        raise SystemExit(2)
    click.echo("VALID")


def register(app: Flask) -> None:
    """Attach the command groups to the app."""
    for group in (user_cli, token_cli, demo_cli, receipt_cli):
        app.cli.add_command(group)
    from app.ops.cli import register as register_ops  # storage, backup, db copy

    register_ops(app)
    from app.summaries.cli import summary_command

    app.cli.add_command(summary_command)
    from app.grids.cli import grids_cli

    app.cli.add_command(grids_cli)
    from app.reports.cli import places_cli

    app.cli.add_command(places_cli)
    from app.notify.cli import department_cli, escalate_command, worker_command

    for command in (department_cli, escalate_command, worker_command):
        app.cli.add_command(command)
