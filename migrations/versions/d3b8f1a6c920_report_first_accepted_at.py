"""report.first_accepted_at (when a report was first accepted) and closed_at indexed, for points by period

Revision ID: d3b8f1a6c920
Revises: a9e4c2d7f105
Create Date: 2026-11-30 03:05:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d3b8f1a6c920"
down_revision = "a9e4c2d7f105"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("report", sa.Column("first_accepted_at", sa.DateTime(timezone=True), nullable=True))
    # From the timeline: the first move to `accepted` (reopening and recalling move there again later).
    op.execute(
        sa.text(
            "UPDATE report SET first_accepted_at = (SELECT min(e.created_at) FROM report_event e "
            "WHERE e.report_id = report.id AND e.kind = 'transition' AND e.to_status = 'accepted') "
            "WHERE status <> 'submitted'"
        )
    )
    # A closed report's closed_at is its latest close (the triage service sets it on every close).
    op.execute(
        sa.text(
            "UPDATE report SET closed_at = (SELECT max(e.created_at) FROM report_event e "
            "WHERE e.report_id = report.id AND e.kind = 'transition' AND e.to_status = 'closed') "
            "WHERE status = 'closed' AND EXISTS (SELECT 1 FROM report_event e WHERE e.report_id = report.id "
            "AND e.kind = 'transition' AND e.to_status = 'closed')"
        )
    )
    op.create_index("ix_report_first_accepted", "report", ["first_accepted_at"])
    op.create_index("ix_report_closed", "report", ["closed_at"])


def downgrade():
    op.drop_index("ix_report_closed", table_name="report")
    op.drop_index("ix_report_first_accepted", table_name="report")
    op.drop_column("report", "first_accepted_at")
