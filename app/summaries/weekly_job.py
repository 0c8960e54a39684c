"""The worker's Monday job, heard through hooks.WEEK_ENDED: publish the week that ended, then email the
digest of the published record to the staff who opted in."""

from __future__ import annotations

import logging
from datetime import datetime

from app.mail import InsecureSmtp
from app.summaries import archive, digest

log = logging.getLogger("gridsnap.worker")


def on_week_ended(now: datetime) -> None:
    """Publish the last complete week (kept as it is if already published) and send its digest, in the
    worker's transaction. A digest that cannot be sent is logged, not retried: the job runs once a week
    whatever happens to the mail (send it again with `flask summary WEEK --email`)."""
    record, created = archive.publish(None, now)
    log.info("%s %s version %d", "published" if created else "already published", record.week, record.version)
    try:
        sent = digest.send_digest(archive.summary_of(record))
    except (OSError, InsecureSmtp):  # smtplib errors are OSErrors too
        log.exception("digest %s not sent: send it with `flask summary %s --email`", record.week, record.week)
        return
    log.info("digest %s sent to %d recipient(s)", record.week, len(sent))
