"""A rider's passer-by looks found by actor: index report_event (actor_id, kind)

Revision ID: c4e1a7d9b352
Revises: 028aa30bc09f
Create Date: 2026-12-07 10:00:00
"""

from alembic import op

revision = "c4e1a7d9b352"
down_revision = "028aa30bc09f"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_event_actor_kind", "report_event", ["actor_id", "kind"])


def downgrade():
    op.drop_index("ix_event_actor_kind", table_name="report_event")
