"""Sign-in codes by text message: sms_code (phone, keyed hash, expiry, wrong tries)

Revision ID: 5d2b8e31f0a4
Revises: a9d4e6f1b237
Create Date: 2026-12-07 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "5d2b8e31f0a4"
down_revision = "a9d4e6f1b237"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sms_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_code")),
    )
    op.create_index(op.f("ix_sms_code_phone"), "sms_code", ["phone"], unique=False)


def downgrade():
    op.drop_index(op.f("ix_sms_code_phone"), table_name="sms_code")
    op.drop_table("sms_code")
