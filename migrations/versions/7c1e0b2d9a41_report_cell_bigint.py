"""report.cell as BIGINT (cell ids exceed 32 bits; PostgreSQL refused them)

Revision ID: 7c1e0b2d9a41
Revises: 65f6fa189269
Create Date: 2026-11-29 21:05:00

"""

import sqlalchemy as sa
from alembic import op

revision = "7c1e0b2d9a41"
down_revision = "65f6fa189269"
branch_labels = None
depends_on = None


def upgrade():
    # SQLite integers are already 64-bit; only PostgreSQL needs the type change.
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("report", "cell", type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("report", "cell", type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False)
