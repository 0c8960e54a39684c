"""`flask grids import FILE.geojson` and `flask grids export`: thin wrappers over the grid services."""

import json

import click
from flask.cli import AppGroup

from app.extensions import db

grids_cli = AppGroup("grids", help="Import and export grid areas (GeoJSON).")


@grids_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--regrid", is_flag=True, help="Also move open reports into the grids that now contain them.")
def import_command(path, regrid):
    """Upsert grids by properties.code from a GeoJSON FeatureCollection (all or nothing)."""
    from app.errors import DomainError
    from app.grids import services

    with open(path, "rb") as fh:
        data = fh.read()
    try:
        result = services.import_grids(data)
    except DomainError as err:
        db.session.rollback()
        problems = err.extra.get("problems")
        if problems:
            for line in problems:
                click.echo(line, err=True)
            raise click.ClickException(f"nothing imported: {len(problems)} invalid feature(s)") from err
        raise click.ClickException(str(err.message)) from err
    moved = services.regrid_open_reports(None) if regrid else None
    db.session.commit()
    click.echo(f"grids imported: {result.summary()}")
    if moved is not None:
        click.echo(f"open reports moved to another grid: {moved}")
    elif result.created or result.updated:
        click.echo("run with --regrid (or use the admin page) to move open reports into the changed grids")


@grids_cli.command("check-area")
@click.option("--all", "every_report", is_flag=True, help="Closed and rejected reports too, not only open ones.")
def check_area_command(every_report):
    """Flag again the reports outside the service area, as it is now (after changing GRIDSNAP_SERVICE_AREA, and
    once after the upgrade that added the flag)."""
    from app.grids.area import recheck_reports, service_area

    checked, changed = recheck_reports(every_report=every_report)
    db.session.commit()
    click.echo(f"service area ({service_area().source}): {checked} reports checked, {changed} flags changed")


@grids_cli.command("export")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write to this file instead of standard output.",
)
def export_command(output):
    """Print all grids as a GeoJSON FeatureCollection (properties code, name)."""
    from app.grids.services import export_grids

    text = json.dumps(export_grids(), ensure_ascii=False)
    if output:
        try:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as err:
            raise click.ClickException(f"cannot write {output}: {err.strerror}") from err
    else:
        click.echo(text)
