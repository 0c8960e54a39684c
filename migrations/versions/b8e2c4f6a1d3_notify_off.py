"""Per kind of notification, the outside channels a user turned off: user.notify_off ("email:resolved", ...)

Revision ID: b8e2c4f6a1d3
Revises: 9e4f1b2c3d67
Create Date: 2026-12-07 13:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "b8e2c4f6a1d3"
down_revision = "9e4f1b2c3d67"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("user", sa.Column("notify_off", sa.JSON(), nullable=True))


def downgrade():
    op.drop_column("user", "notify_off")
