"""`flask places import FILE` (GeoJSON points or CSV name,kind,lat,lon): a thin wrapper over the places service."""

import click
from flask.cli import AppGroup

from app.extensions import db

places_cli = AppGroup("places", help="The gazetteer of local landmarks (places by name).")


@places_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_command(path):
    """Upsert places by name and position (all or nothing); importing a file twice changes nothing."""
    from app.errors import DomainError
    from app.reports import places

    with open(path, "rb") as fh:
        data = fh.read()
    try:
        result = places.import_places(data, path)
    except DomainError as err:
        db.session.rollback()
        for line in err.extra.get("problems") or []:
            click.echo(line, err=True)
        raise click.ClickException(str(err.message)) from err
    db.session.commit()
    click.echo(f"places imported: {result.summary()}")
