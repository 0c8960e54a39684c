"""report.duplicate_of_id index (co-reporters of a report)

Revision ID: c41a527804f9
Revises: 07d12692332d
Create Date: 2026-11-29 22:00:54.127873

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "c41a527804f9"
down_revision = "07d12692332d"
branch_labels = None
depends_on = None


def upgrade():
    # The duplicates merged into given reports (their riders are co-reporters and share the points):
    # without it, every points and summary computation reads all duplicate reports once per 900 targets.
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.create_index("ix_report_duplicate_of", ["duplicate_of_id"], unique=False)


def downgrade():
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_index("ix_report_duplicate_of")
