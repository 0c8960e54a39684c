"""summaries: covering partial index for the backlog at the end of a week; reports by filing time

Revision ID: 07d12692332d
Revises: 186db8033174
Create Date: 2026-11-29 21:42:01.105745

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "07d12692332d"
down_revision = "186db8033174"
branch_labels = None
depends_on = None


OPEN = sa.text("status IN ('submitted', 'accepted', 'assigned', 'in_progress', 'resolved')")
COLUMNS = [
    "created_at",
    "status",
    "category_id",
    "grid_id",
    "department_id",
    "user_id",
    "accept_due_at",
    "resolve_due_at",
]


def upgrade():
    # The weekly summary counts open and overdue reports per category, grid, department and team:
    # with every column it reads in the index, that count never touches the table.
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.create_index("ix_report_open_backlog", COLUMNS, unique=False, sqlite_where=OPEN, postgresql_where=OPEN)
        # Reports filed in a week: without statistics SQLite scans the whole table for a range on
        # created_at when it only leads partial or second-column indexes.
        batch_op.create_index("ix_report_created", ["created_at"], unique=False)


def downgrade():
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_index("ix_report_created")
        batch_op.drop_index("ix_report_open_backlog", sqlite_where=OPEN, postgresql_where=OPEN)
