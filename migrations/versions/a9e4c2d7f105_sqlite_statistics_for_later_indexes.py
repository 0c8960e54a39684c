"""SQLite: statistics for the indexes added since a database was last analyzed

Revision ID: a9e4c2d7f105
Revises: 7b87731a26dc
Create Date: 2026-11-30 00:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a9e4c2d7f105"
down_revision = "7b87731a26dc"
branch_labels = None
depends_on = None


def upgrade():
    # A database analyzed before ix_report_open_backlog existed kept statistics for every index but that
    # one, and SQLite's planner then liked it for the board's first page (walk it per category, then sort
    # every open report: 330 ms at a million). Full statistics for every index again (a sampled ANALYZE
    # misleads the planner here; the full one took 2.5 s on a million reports); PostgreSQL's autovacuum
    # analyzes by itself. Nothing to do on a database that was never analyzed (the app's
    # periodic `PRAGMA optimize` takes care of those).
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    analyzed = bind.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first()
    if analyzed:
        bind.execute(sa.text("ANALYZE"))


def downgrade():
    pass  # statistics only
