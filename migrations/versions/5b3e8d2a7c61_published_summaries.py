"""Published weekly summaries (frozen, versioned) and the report corrections that make a week's late changes

Revision ID: 5b3e8d2a7c61
Revises: 4c7e2a9d1b35
Create Date: 2026-12-07 09:45:00

A completed week's summary is computed once and stored (published_summary): the full data object, when
it was published, the code version, a version number (a republish adds one, the earlier stay). A trigger
on report writes a row to report_correction whenever a report's category or place (grid, latitude,
longitude) changes, whoever writes: a published week counts the corrections after its mark as its late
changes, cheaply, without recomputing anything.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5b3e8d2a7c61"
down_revision = "4c7e2a9d1b35"
branch_labels = None
depends_on = None

CORRECTED = ("category_id", "grid_id", "lat", "lon")
CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in CORRECTED)
INSERT = "INSERT INTO report_correction (report_id, filed_at) VALUES (NEW.id, NEW.created_at);"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER trg_report_correction AFTER UPDATE OF {", ".join(CORRECTED)} ON report
        WHEN {CHANGED} BEGIN
          {INSERT}
        END""",
]
PG_TRIGGERS = [
    f"""CREATE OR REPLACE FUNCTION report_correction_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {INSERT}
  RETURN NULL;
END $$""",
    f"""CREATE TRIGGER trg_report_correction AFTER UPDATE OF {", ".join(CORRECTED)} ON report FOR EACH ROW
        WHEN ({CHANGED.replace(" IS NOT ", " IS DISTINCT FROM ")}) EXECUTE FUNCTION report_correction_trg()""",
]


def upgrade():
    op.create_table(
        "published_summary",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.Column("code_version", sa.String(length=80), nullable=False),
        sa.Column("correction_mark", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("headline", sa.JSON(), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["user.id"],
            name=op.f("fk_published_summary_published_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_summary")),
        sa.UniqueConstraint("week", "version", name="uq_published_summary_week_version"),
    )
    op.create_index("ix_published_summary_current_week", "published_summary", ["current", "week"], unique=False)
    op.create_table(
        "report_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_correction")),
    )
    op.create_index("ix_report_correction_filed", "report_correction", ["filed_at"], unique=False)
    for ddl in PG_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS:
        op.execute(ddl)


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS trg_report_correction" + (" ON report" if _pg() else ""))
    if _pg():
        op.execute("DROP FUNCTION IF EXISTS report_correction_trg()")
    op.drop_index("ix_report_correction_filed", table_name="report_correction")
    op.drop_table("report_correction")
    op.drop_index("ix_published_summary_current_week", table_name="published_summary")
    op.drop_table("published_summary")


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"
