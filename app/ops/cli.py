"""Operator commands: `flask storage check|migrate`, `flask backup create|restore`, `flask db copy|seed`."""

from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.extensions import db

storage_cli = AppGroup("storage", help="Photo store upkeep.")
backup_cli = AppGroup("backup", help="Back up and restore the database and photos.")


def _store(backend: str | None = None):
    from app.storage import build_store, photo_store

    if not backend:
        return photo_store()
    try:
        return build_store({**current_app.config, "STORAGE_READ_FALLBACK": False}, backend)
    except ValueError as err:  # e.g. s3 without GRIDSNAP_STORAGE_BUCKET
        raise click.ClickException(str(err)) from err


@storage_cli.command("check")
@click.option("--fix", is_flag=True, help="Delete the orphans found.")
@click.option(
    "--older-than",
    default=3600,
    show_default=True,
    type=click.IntRange(0, 10**9),
    help="Seconds: younger unreferenced files may belong to uploads in flight and are left alone.",
)
def storage_check(fix, older_than):
    """Find files with no Photo row (orphans) and Photo rows with no file (missing)."""
    from app.ops.storage_admin import check_store

    store = _store()
    result = check_store(store, timedelta(seconds=older_than), fix=fix)
    click.echo(f"store: {store!r}")
    click.echo(f"stored files: {result.stored}")
    click.echo(
        f"orphans older than {older_than} s: {len(result.orphans)}" + (f" (removed {result.removed})" if fix else "")
    )
    for obj in result.orphans[:50]:
        click.echo(f"  orphan {obj.key} {obj.size} B {obj.modified.isoformat(timespec='seconds')}")
    click.echo(f"recent unreferenced (left alone): {result.recent_unreferenced}")
    click.echo(f"missing files: {len(result.missing)}")
    for key in result.missing[:50]:
        click.echo(f"  missing {key}")
    if result.missing or (result.orphans and not fix):
        raise SystemExit(1)


@storage_cli.command("migrate")
@click.option("--to", "to", type=click.Choice(["s3", "local"]), required=True)
@click.option("--from", "from_", type=click.Choice(["s3", "local"]), default=None, help="Default: the other one.")
def storage_migrate(to, from_):
    """Copy every photo into another store while the site runs; re-run it safely until nothing is copied."""
    from app.ops.storage_admin import copy_photos

    from_ = from_ or ("local" if to == "s3" else "s3")
    if from_ == to:
        raise click.UsageError("--from and --to must differ")
    source, target = _store(from_), _store(to)
    result = copy_photos(source, target)
    click.echo(f"{source!r} -> {target!r}")
    click.echo(f"copied {result.copied}, already there {result.skipped}, missing from the source {len(result.missing)}")
    for key in result.missing[:50]:
        click.echo(f"  missing {key}")


@backup_cli.command("create")
@click.option(
    "--output",
    default="backups",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder that receives a new gridsnap-<time> backup folder.",
)
@click.option(
    "--photos/--no-photos",
    default=True,
    show_default=True,
    help="Copy the photo files (off: manifest only, e.g. when the bucket is versioned and replicated).",
)
def backup_create(output, photos):
    """A consistent copy of the database and a manifest (and copies) of its photos."""
    import os

    from app.ops.backup import BackupError, create_backup

    try:
        os.makedirs(output, exist_ok=True)
        folder = create_backup(db.engine, _store(), output, copy_photos=photos)
    except BackupError as err:
        raise click.ClickException(str(err)) from err
    except OSError as err:
        raise click.ClickException(f"cannot write the backup into {output}: {err.strerror or err}") from err
    click.echo(folder)


@backup_cli.command("restore")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
def backup_restore(folder):
    """Restore a backup folder onto an empty database and photo store."""
    from app.ops.backup import BackupError, restore_backup

    try:
        summary = restore_backup(db.engine, _store(), folder)
    except BackupError as err:
        raise click.ClickException(str(err)) from err
    click.echo(
        f"restored {sum(summary['rows'].values())} rows, {summary['photos_restored']} photos "
        f"({summary['photos_already_there']} already there)"
    )


@click.command("copy")
@click.option("--to", "to_url", required=True, help="SQLAlchemy URL of an empty target database.")
def db_copy(to_url):
    """Copy every table of this database into another (built by the migrations), e.g. SQLite -> PostgreSQL."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from app.ops.dbcopy import CopyRefused, copy_database, prepare_target

    try:
        target = prepare_target(to_url)
        counts = copy_database(db.engine, target, progress=lambda t, n: click.echo(f"  {t}: {n} rows"))
    except CopyRefused as err:
        raise click.ClickException(str(err)) from err
    except SQLAlchemyError as err:  # a malformed URL, an unknown driver, a server that does not answer
        reason = str(getattr(err, "orig", None) or err).splitlines()[0]
        raise click.ClickException(f"cannot use the target database: {reason}") from err
    target.dispose()
    click.echo(f"copied {sum(counts.values())} rows into {make_url(to_url).render_as_string(hide_password=True)}")


@click.command("seed")
def db_seed():
    """Create the missing departments and categories (never demo accounts); edited rows are kept."""
    from app.catalog import seed_reference_data

    seed_reference_data()
    db.session.commit()
    click.echo("departments and categories in place")


def register(app: Flask) -> None:
    """Attach the operator commands (and `copy`, `seed` to Flask-Migrate's `db` group)."""
    from flask_migrate.cli import db as db_group

    app.cli.add_command(storage_cli)
    app.cli.add_command(backup_cli)
    for command in (db_copy, db_seed):
        if command.name not in db_group.commands:
            db_group.add_command(command)
