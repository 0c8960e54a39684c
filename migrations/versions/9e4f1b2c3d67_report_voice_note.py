"""A rider's voice note with a report, stored next to its photos: report.voice_key, voice_type, voice_seconds

Revision ID: 9e4f1b2c3d67
Revises: 7a3c9d0e5b12
Create Date: 2026-12-07 10:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "9e4f1b2c3d67"
down_revision = "7a3c9d0e5b12"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("report", sa.Column("voice_key", sa.String(length=100), nullable=True))
    op.add_column("report", sa.Column("voice_type", sa.String(length=40), nullable=True))
    op.add_column("report", sa.Column("voice_seconds", sa.Float(), nullable=True))


def downgrade():
    op.drop_column("report", "voice_seconds")
    op.drop_column("report", "voice_type")
    op.drop_column("report", "voice_key")
