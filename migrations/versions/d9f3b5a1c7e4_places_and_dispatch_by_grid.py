"""Places by name and dispatch by grid: the place gazetteer, report.place, category.own_department

Revision ID: d9f3b5a1c7e4
Revises: c4e1a7d9b352
Create Date: 2026-12-07 10:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "d9f3b5a1c7e4"
down_revision = "c4e1a7d9b352"
branch_labels = None
depends_on = None

# Lifts and blocked fire lanes go to their own department wherever they are, not to the grid's.
OWN_DEPARTMENT = ("elevator_hazard", "fire_lane_blocked")


def upgrade():
    op.create_table(
        "place",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("cell", sa.BigInteger(), nullable=False),
        sa.Column("search", sa.String(600), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_place_cell", "place", ["cell"])
    op.create_index("ix_place_updated_at", "place", ["updated_at"])
    op.create_index("ix_place_name_position", "place", ["name", "lat", "lon"])
    op.add_column("report", sa.Column("place", sa.JSON(), nullable=True))
    op.add_column("category", sa.Column("own_department", sa.Boolean(), nullable=False, server_default=sa.false()))
    category = sa.table("category", sa.column("code", sa.String), sa.column("own_department", sa.Boolean))
    op.execute(category.update().where(category.c.code.in_(OWN_DEPARTMENT)).values(own_department=True))


def downgrade():
    op.drop_column("category", "own_department")
    op.drop_column("report", "place")
    op.drop_index("ix_place_name_position", table_name="place")
    op.drop_index("ix_place_updated_at", table_name="place")
    op.drop_index("ix_place_cell", table_name="place")
    op.drop_table("place")
