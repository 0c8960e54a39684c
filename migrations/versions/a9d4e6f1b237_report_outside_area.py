"""A report's location outside the service area is flagged (report.outside_area); the board's "needs attention"
order is read from one index (ix_report_open_attention)

Revision ID: a9d4e6f1b237
Revises: 5b3e8d2a7c61
Create Date: 2026-12-07 10:00:00

Reports filed before this revision are not checked again: they read as inside (false).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a9d4e6f1b237"
down_revision = "5b3e8d2a7c61"
branch_labels = None
depends_on = None

OPEN = "status IN ('submitted', 'accepted', 'assigned', 'in_progress', 'resolved')"
ATTENTION = ["category_id", "status", "accept_due_at", "resolve_due_at", "created_at"]


def upgrade():
    op.add_column("report", sa.Column("outside_area", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index(
        "ix_report_open_attention",
        "report",
        ATTENTION,
        unique=False,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade():
    op.drop_index(
        "ix_report_open_attention", table_name="report", sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN)
    )
    # SQLite (3.35+) drops a column in place too.
    op.drop_column("report", "outside_area")
