"""`flask summary [WEEK] --format html|json|csv [--output FILE] [--email] [--publish [--since WEEK]]`: thin
wrappers over the services."""

import json
import sys

import click

from app.errors import DomainError
from app.extensions import db
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
@click.option("--publish", is_flag=True, help="Publish the week (once: a published week is left as it is).")
@click.option("--since", default=None, help="With --publish: every unpublished week from this one on (back-fill).")
@click.option("--live", is_flag=True, help="Compute the figures now even for a published week.")
def summary_command(week, fmt, output, email, publish, since, live):
    """Print (or save) the summary of WEEK, e.g. 2026-W48; without WEEK, the last complete week. A published
    week prints its published record (--live: computed now)."""
    from app.summaries import archive
    from app.summaries.services import weekly_summary

    if since and not publish:
        raise click.UsageError("--since goes with --publish")
    try:
        if publish:
            _publish(week, since)
            if not email:
                return
        s, _record = (weekly_summary(week), None) if live else archive.summary_for(week)
    except DomainError as err:
        raise click.ClickException(str(err.message)) from err
    if not publish:
        _write(s, fmt, output)
    if email:
        _email(s)


def _publish(week, since) -> None:
    from app.summaries import archive

    if not since:
        record, created = archive.publish(week)
        db.session.commit()
        click.echo(
            f"{'published' if created else 'already published'} {record.week} version {record.version} "
            f"at {record.published_at.isoformat()}",
            err=True,
        )
        return
    todo = archive.unpublished_weeks(since, week)
    done = 0
    with click.progressbar(
        archive.backfill(todo), length=len(todo), label=f"publishing {len(todo)} week(s)", file=sys.stderr
    ) as bar:
        for _record in bar:  # committed week by week: stopped, it resumes where it was
            done += 1
    click.echo(f"published {done} week(s) since {since}", err=True)


def _write(s, fmt, output) -> None:
    from app.summaries import render

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


def _email(s) -> None:
    from app.summaries import digest

    try:
        sent = digest.send_digest(s)
    except (OSError, InsecureSmtp) as err:  # smtplib errors are OSErrors too
        raise click.ClickException(f"could not send the digest: {err}") from err
    click.echo(
        f"digest {s.week} sent to {len(sent)} recipient(s)" if sent else "digest not sent: nobody has opted in",
        err=True,
    )
