"""Open reports counted per (category, grid, department, team, status) by triggers, for the summary's backlog

Revision ID: e5a7c3b9d214
Revises: d3b8f1a6c920
Create Date: 2026-11-30 05:30:00

The weekly summary's open and overdue reports at the end of a week were one pass over every open
report's entry in ix_report_open_backlog (220,000 at a million reports: ~450 ms on SQLite). Now they
start from these counts (~20,000 rows), less the open reports filed after the moment or whose deadline
had not come by then (indexed: a few thousand for a recent week), corrected by the moves since, as
before. Triggers keep the counts whoever writes (ORM, bulk inserts, the demo loader, a SQL console):

- report INSERT / DELETE / UPDATE of a counted column: -1 on the old group, +1 on the new one;
- user UPDATE of team_id: the rider's open reports move from the old team's groups to the new one's.

On PostgreSQL the rider's team is read FOR SHARE (a report write and a team change of its rider in flight
wait for each other instead of each missing the other) and the triggers fire after the status counts'.

Each delta is an upsert (ON CONFLICT DO UPDATE, SQLite 3.24+ and PostgreSQL). On PostgreSQL a move
touches its two rows in key order, and a team change its rows in key order, so writers taking the same
rows cannot deadlock on them.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e5a7c3b9d214"
down_revision = "d3b8f1a6c920"
branch_labels = None
depends_on = None

OPEN = "('submitted', 'accepted', 'assigned', 'in_progress', 'resolved')"
WORKING = "('accepted', 'assigned', 'in_progress')"
KEY = "category_id, grid_id, department_id, team_id, status, dated"
UPSERT = f"ON CONFLICT ({KEY}) DO UPDATE SET n = report_backlog_count.n + excluded.n"


def _group(r: str, team: str) -> str:
    """The counted group of report row `r` (NEW, OLD or a table alias) with `team` as its team."""
    return (
        f"COALESCE({r}.category_id, 0), COALESCE({r}.grid_id, 0), COALESCE({r}.department_id, 0), "
        f"COALESCE({team}, 0), {r}.status, "
        f"CASE WHEN {r}.status = 'submitted' AND {r}.accept_due_at IS NOT NULL THEN 1 "
        f"WHEN {r}.status IN {WORKING} AND {r}.resolve_due_at IS NOT NULL THEN 1 ELSE 0 END"
    )


def _delta(r: str, sign: int, team: str = "") -> str:
    """Add `sign` to report row r's group when r is open (a no-op statement otherwise); `team`: an
    expression for its rider's team (default: read from "user")."""
    team = team or f'(SELECT team_id FROM "user" WHERE id = {r}.user_id)'
    return (
        f"INSERT INTO report_backlog_count ({KEY}, n) SELECT {_group(r, team)}, {sign} "
        f"WHERE {r}.status IN {OPEN} {UPSERT};"
    )


def _team_move(old_team: str, new_team: str, user: str) -> str:
    """Move the open reports of rider `user` from old_team's groups to new_team's, in key order."""
    return (
        f"INSERT INTO report_backlog_count ({KEY}, n) "
        f"SELECT {_group('r', 't.team')}, SUM(t.sign) FROM report r, "
        f"(SELECT {old_team} AS team, -1 AS sign UNION ALL SELECT {new_team}, 1) t "
        f"WHERE r.user_id = {user} AND r.status IN {OPEN} "
        f"GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6 {UPSERT};"
    )


COUNTED = ("status", "category_id", "grid_id", "department_id", "user_id", "accept_due_at", "resolve_due_at")
CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in COUNTED)

# Named to sort after trg_report_status_count_*: PostgreSQL fires a table's triggers in name order, so a
# writer first queues on the status-count rows (taken in a fixed order) and only then takes these; with
# these first, a bulk move holding the status rows and a single move holding a group row deadlocked.
TRIGGERS = (
    ("trg_report_tally_ins", "report"),
    ("trg_report_tally_del", "report"),
    ("trg_report_tally_upd", "report"),
    ("trg_user_tally_team", '"user"'),
)

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER trg_report_tally_ins AFTER INSERT ON report WHEN NEW.status IN {OPEN} BEGIN
          {_delta("NEW", 1)}
        END""",
    f"""CREATE TRIGGER trg_report_tally_del AFTER DELETE ON report WHEN OLD.status IN {OPEN} BEGIN
          {_delta("OLD", -1)}
        END""",
    f"""CREATE TRIGGER trg_report_tally_upd AFTER UPDATE OF {", ".join(COUNTED)} ON report
        WHEN ({CHANGED}) AND (OLD.status IN {OPEN} OR NEW.status IN {OPEN}) BEGIN
          {_delta("OLD", -1)}
          {_delta("NEW", 1)}
        END""",
    f"""CREATE TRIGGER trg_user_tally_team AFTER UPDATE OF team_id ON "user"
        WHEN OLD.team_id IS NOT NEW.team_id BEGIN
          {_team_move("COALESCE(OLD.team_id, 0)", "COALESCE(NEW.team_id, 0)", "NEW.id")}
        END""",
]

# PostgreSQL: the rider's team is read FOR SHARE, so a report write waits for a team change of its rider
# in flight (and a team change waits for report writes in flight): under READ COMMITTED neither would see
# the other's uncommitted row, and the count would stay under the old team.
PG_TRIGGERS = [
    f"""CREATE OR REPLACE FUNCTION report_tally_trg() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  old_team integer;
  new_team integer;
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    SELECT team_id INTO old_team FROM "user" WHERE id = OLD.user_id FOR SHARE;
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.user_id = OLD.user_id THEN
    new_team := old_team;  -- the same rider (almost every move): one read
  ELSIF TG_OP IN ('INSERT', 'UPDATE') THEN
    SELECT team_id INTO new_team FROM "user" WHERE id = NEW.user_id FOR SHARE;
  END IF;
  IF TG_OP = 'INSERT' THEN
    {_delta("NEW", 1, "new_team")}
  ELSIF TG_OP = 'DELETE' THEN
    {_delta("OLD", -1, "old_team")}
  ELSIF ROW({_group("OLD", "old_team")}) > ROW({_group("NEW", "new_team")}) THEN
    {_delta("NEW", 1, "new_team")}
    {_delta("OLD", -1, "old_team")}
  ELSE
    {_delta("OLD", -1, "old_team")}
    {_delta("NEW", 1, "new_team")}
  END IF;
  RETURN NULL;
END $$""",
    f"""CREATE OR REPLACE FUNCTION user_tally_team_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {_team_move("COALESCE(OLD.team_id, 0)", "COALESCE(NEW.team_id, 0)", "NEW.id")}
  RETURN NULL;
END $$""",
    f"""CREATE TRIGGER trg_report_tally_ins AFTER INSERT ON report FOR EACH ROW
        WHEN (NEW.status IN {OPEN}) EXECUTE FUNCTION report_tally_trg()""",
    f"""CREATE TRIGGER trg_report_tally_del AFTER DELETE ON report FOR EACH ROW
        WHEN (OLD.status IN {OPEN}) EXECUTE FUNCTION report_tally_trg()""",
    f"""CREATE TRIGGER trg_report_tally_upd AFTER UPDATE OF {", ".join(COUNTED)} ON report FOR EACH ROW
        WHEN (({CHANGED.replace(" IS NOT ", " IS DISTINCT FROM ")}) AND (OLD.status IN {OPEN} OR NEW.status IN {OPEN}))
        EXECUTE FUNCTION report_tally_trg()""",
    """CREATE TRIGGER trg_user_tally_team AFTER UPDATE OF team_id ON "user" FOR EACH ROW
        WHEN (OLD.team_id IS DISTINCT FROM NEW.team_id) EXECUTE FUNCTION user_tally_team_trg()""",
]


def upgrade():
    op.create_table(
        "report_backlog_count",
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("dated", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "category_id", "grid_id", "department_id", "team_id", "status", "dated", name="pk_report_backlog_count"
        ),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # No report or rider written between the count below and the triggers' creation (a live database
        # being upgraded): writers wait for the migration's commit. SQLite holds its write lock from the
        # INSERT below to the end of the migration anyway.
        op.execute('LOCK TABLE report, "user" IN SHARE ROW EXCLUSIVE MODE')
    op.execute(
        f"INSERT INTO report_backlog_count ({KEY}, n) "
        f'SELECT {_group("r", "u.team_id")}, COUNT(*) FROM report r LEFT OUTER JOIN "user" u '
        f"ON u.id = r.user_id WHERE r.status IN {OPEN} GROUP BY 1, 2, 3, 4, 5, 6"
    )
    for ddl in PG_TRIGGERS if bind.dialect.name == "postgresql" else SQLITE_TRIGGERS:
        op.execute(ddl)
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_report_open_backlog",
            sqlite_where=sa.text(f"status IN {OPEN}"),
            postgresql_where=sa.text(f"status IN {OPEN}"),
        )
        batch_op.create_index(
            "ix_report_submitted_accept_due",
            ["accept_due_at"],
            unique=False,
            sqlite_where=sa.text("status = 'submitted'"),
            postgresql_where=sa.text("status = 'submitted'"),
        )
        batch_op.create_index(
            "ix_report_working_resolve_due",
            ["resolve_due_at"],
            unique=False,
            sqlite_where=sa.text(f"status IN {WORKING}"),
            postgresql_where=sa.text(f"status IN {WORKING}"),
        )
    if (
        bind.dialect.name == "sqlite"
        and bind.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first()
    ):
        # An analyzed database: statistics for the new indexes (see a9e4c2d7f105), and for the new table.
        for name in ("ix_report_submitted_accept_due", "ix_report_working_resolve_due", "report_backlog_count"):
            bind.execute(sa.text(f"ANALYZE {name}"))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name, table in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS report_tally_trg()")
        op.execute("DROP FUNCTION IF EXISTS user_tally_team_trg()")
    else:
        for name, _table in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_report_working_resolve_due",
            sqlite_where=sa.text(f"status IN {WORKING}"),
            postgresql_where=sa.text(f"status IN {WORKING}"),
        )
        batch_op.drop_index(
            "ix_report_submitted_accept_due",
            sqlite_where=sa.text("status = 'submitted'"),
            postgresql_where=sa.text("status = 'submitted'"),
        )
        batch_op.create_index(
            "ix_report_open_backlog",
            [
                "category_id",
                "grid_id",
                "department_id",
                "user_id",
                "status",
                "created_at",
                "accept_due_at",
                "resolve_due_at",
            ],
            unique=False,
            sqlite_where=sa.text(f"status IN {OPEN}"),
            postgresql_where=sa.text(f"status IN {OPEN}"),
        )
    op.drop_table("report_backlog_count")
