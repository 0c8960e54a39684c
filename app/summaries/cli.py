"""`flask summary [WEEK] --format html|json|csv [--output FILE] [--email]`: a thin wrapper over the service."""

import json

import click

from app.errors import DomainError
from app.mail import InsecureSmtp


@click.command("summary")
@click.argument("week", required=False)
@click.option("--format", "fmt", type=click.Choice(["html", "json", "csv"]), default="json", show_default=True)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write to this file instead of standard output.",
)
@click.option("--email", is_flag=True, help="Also email the digest to the coordinators and admins who opted in.")
def summary_command(week, fmt, output, email):
    """Print (or save) the summary of WEEK, e.g. 2026-W48; without WEEK, the last complete week."""
    from app.summaries import digest, render
    from app.summaries.services import weekly_summary

    try:
        s = weekly_summary(week)
    except DomainError as err:
        raise click.ClickException(str(err.message)) from err
    if fmt == "json":
        body = json.dumps(s.to_dict(), ensure_ascii=False, indent=2) + "\n"
    elif fmt == "csv":
        body = render.csv_text(s)
    else:
        body = render.standalone_html(s)
    if output:
        try:
            with open(output, "w", encoding="utf-8", newline="") as fh:
                fh.write(body)
        except OSError as err:
            raise click.ClickException(f"cannot write {output}: {err.strerror}") from err
        click.echo(f"summary {s.week} written to {output}", err=True)
    else:
        click.echo(body, nl=False)
    if email:
        try:
            sent = digest.send_digest(s)
        except (OSError, InsecureSmtp) as err:  # smtplib errors are OSErrors too
            raise click.ClickException(f"could not send the digest: {err}") from err
        click.echo(
            f"digest {s.week} sent to {len(sent)} recipient(s)" if sent else "digest not sent: nobody has opted in",
            err=True,
        )
