"""Notifications: the outbox (notification, notification_delivery), job marks, robots and channel choices

Revision ID: 028aa30bc09f
Revises: b7e3f9a1c2d4
Create Date: 2026-12-07 07:05:19

A notification is written in the transaction of its cause; the worker delivers each of its deliveries
(ix_delivery_due finds the due ones). Departments gain their group robot; users choose email and SMS.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "028aa30bc09f"
down_revision = "b7e3f9a1c2d4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_mark",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("ran_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_mark")),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("hazard", sa.Boolean(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["department.id"],
            name=op.f("fk_notification_department_id_department"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["report.id"], name=op.f("fk_notification_report_id_report"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_notification_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_report_id"), ["report_id"], unique=False)
        batch_op.create_index("ix_notification_user_unread", ["user_id", "read_at", "delivered_at"], unique=False)

    op.create_table(
        "notification_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
            name=op.f("fk_notification_delivery_notification_id_notification"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_delivery")),
        sa.UniqueConstraint("key", name=op.f("uq_notification_delivery_key")),
    )
    with op.batch_alter_table("notification_delivery", schema=None) as batch_op:
        batch_op.create_index("ix_delivery_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notification_delivery_notification_id"), ["notification_id"], unique=False)

    # Plain ADD COLUMN (no batch copy of the table): the report triggers name user and department, and
    # SQLite adds a column with a constant default in place.
    op.add_column("department", sa.Column("webhook_kind", sa.String(length=10), nullable=True))
    op.add_column("department", sa.Column("webhook_url", sa.String(length=500), nullable=True))
    op.add_column("department", sa.Column("webhook_secret", sa.String(length=200), nullable=True))
    op.add_column("user", sa.Column("notify_email", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("user", sa.Column("notify_sms", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    # SQLite (3.35+) drops a column in place too.
    for column in ("notify_sms", "notify_email"):
        op.drop_column("user", column)
    for column in ("webhook_secret", "webhook_url", "webhook_kind"):
        op.drop_column("department", column)

    with op.batch_alter_table("notification_delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_delivery_notification_id"))
        batch_op.drop_index("ix_delivery_due")

    op.drop_table("notification_delivery")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_user_unread")
        batch_op.drop_index(batch_op.f("ix_notification_report_id"))

    op.drop_table("notification")
    op.drop_table("job_mark")
