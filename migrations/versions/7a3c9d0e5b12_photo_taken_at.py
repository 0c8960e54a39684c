"""When a photo was taken, from its EXIF (shown on the rider's receipt): photo.taken_at

Revision ID: 7a3c9d0e5b12
Revises: 5d2b8e31f0a4
Create Date: 2026-12-07 10:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "7a3c9d0e5b12"
down_revision = "5d2b8e31f0a4"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("photo", sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column("photo", "taken_at")
