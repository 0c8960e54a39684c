"""Open311: a report may wait for its pin (report.lat, lon and cell nullable); category.updated_at

Revision ID: 4c7e2a9d1b35
Revises: d9f3b5a1c7e4
Create Date: 2026-12-07 09:40:00

A request filed with only an address that no geocoder could place is kept with its address and no pin
("location needed") until a coordinator sets one. category.updated_at dates Open311's discovery changeset.

SQLite cannot drop NOT NULL with ALTER TABLE, and rebuilding the report table (batch mode) would copy every
report and rebuild its partial indexes; SQLite documents editing the stored CREATE TABLE text for exactly
this change (removing a NOT NULL constraint leaves the stored rows as they are), which is done here.
"""

import re
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "4c7e2a9d1b35"
down_revision = "d9f3b5a1c7e4"
branch_labels = None
depends_on = None

PIN = (("lat", sa.Float(), "FLOAT"), ("lon", sa.Float(), "FLOAT"), ("cell", sa.BigInteger(), "INTEGER"))


def _sqlite_not_null(required: bool) -> None:
    """Drop (or put back) NOT NULL on the pin's columns in SQLite's stored CREATE TABLE of report."""
    bind = op.get_bind()
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'report'").scalar()
    for column, _type, declared in PIN:
        if required:
            sql, found = re.subn(rf"(\n\s*{column} {declared}),", r"\1 NOT NULL,", sql)
        else:
            sql, found = re.subn(rf"(\n\s*{column} {declared}) NOT NULL,", r"\1,", sql)
        if found != 1:
            raise RuntimeError(f"report.{column} is not declared as expected: {sql}")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'report'", (sql,))
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade():
    op.add_column("category", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    category = sa.table("category", sa.column("updated_at", sa.DateTime(timezone=True)))
    op.execute(category.update().values(updated_at=datetime.now(UTC)))
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_not_null(required=False)
    else:
        for column, type_, _declared in PIN:
            op.alter_column("report", column, existing_type=type_, nullable=True)


def downgrade():
    # A report still waiting for its pin cannot go back to a schema that requires one.
    waiting = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM report WHERE lat IS NULL")).scalar()
    if waiting:
        raise RuntimeError(f"{waiting} reports have no location yet: set their pins before downgrading")
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_not_null(required=True)
    else:
        for column, type_, _declared in PIN:
            op.alter_column("report", column, existing_type=type_, nullable=False)
    op.drop_column("category", "updated_at")  # plain ALTER TABLE: a rebuilt category would break its references
