"""Copy every table of the current database into another one (e.g. SQLite -> PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, MetaData, Table, create_engine, func, inspect, select, text, update
from sqlalchemy.schema import sort_tables_and_constraints

from app.extensions import db

BATCH = 2000


class CopyRefused(Exception):
    """The target is not an empty database at the source's schema revision."""


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _plan(metadata: MetaData) -> list[tuple[Table, set[str]]]:
    """Tables in dependency order, each with the columns to fill in a second pass.

    Self-references (report.duplicate_of_id) and foreign-key cycles are written as NULL first and
    set once every row exists, so row order inside a table never matters.
    """
    plan, late = [], {}
    for table, fkcs in sort_tables_and_constraints(metadata.tables.values()):
        if table is None:  # the constraints that close a cycle
            for fkc in fkcs:
                late.setdefault(fkc.table.name, set()).update(c.name for c in fkc.columns)
        else:
            plan.append(table)
    out = []
    for table in plan:
        cols = set(late.get(table.name, set()))
        for fk in table.foreign_keys:
            if fk.column.table is table:
                cols.add(fk.parent.name)
        out.append((table, cols))
    return out


SEEDED = ("department", "category", "response_template")  # rows a bare `db upgrade` writes (catalog)


def prepare_target(url: str) -> Engine:
    """Build the schema on the target through the migrations, and check it holds no rows."""
    from flask import current_app
    from flask_migrate import upgrade

    # The factory this app was built by (kept in its extensions), so ops need not import the root package.
    target_app = current_app.extensions["gridsnap.factory"]({"SQLALCHEMY_DATABASE_URI": url})
    with target_app.app_context():
        upgrade()
        db.engine.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in db.metadata.sorted_tables:
            if table.name not in SEEDED and conn.execute(select(func.count()).select_from(table)).scalar():
                raise CopyRefused(f"the target database is not empty (table {table.name} has rows)")
        # The migrations seed the reference rows; the copy brings the source's own (with their ids) instead.
        for table in reversed([t for t in db.metadata.sorted_tables if t.name in SEEDED]):
            conn.execute(table.delete())
    return engine


def copy_database(source: Engine, target: Engine, progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Copy all rows from source to target (both at the same schema revision); returns rows per table."""
    if _revision(source) != _revision(target):
        raise CopyRefused(
            f"schema revisions differ: source {_revision(source)}, target {_revision(target)}; "
            "run `flask db upgrade` on both first"
        )
    copied: dict[str, int] = {}
    with source.connect() as src, target.begin() as dst:
        for table, late_cols in _plan(db.metadata):
            if table.info.get("kept_by_triggers"):
                continue  # counts the target's triggers made while the rows went in: copying them doubles them
            pk = list(table.primary_key.columns)
            n, deferred = 0, []
            result = src.execution_options(stream_results=True, yield_per=BATCH).execute(select(table).order_by(*pk))
            for rows in result.mappings().partitions(BATCH):
                batch = []
                for row in rows:
                    row = dict(row)
                    if late_cols:
                        later = {c: row[c] for c in late_cols if row[c] is not None}
                        if later:
                            deferred.append(({c.name: row[c.name] for c in pk}, later))
                        row.update({c: None for c in late_cols})
                    batch.append(row)
                dst.execute(table.insert(), batch)
                n += len(batch)
            for key, values in deferred:
                cond = [c == key[c.name] for c in pk]
                dst.execute(update(table).where(*cond).values(**values))
            copied[table.name] = n
            if progress:
                progress(table.name, n)
        if target.dialect.name == "postgresql":
            fix_sequences(dst)
    return copied


def fix_sequences(conn) -> None:
    """Move each PostgreSQL serial/identity sequence past the largest copied id."""
    for table in db.metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1:
            continue
        seq = conn.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": f'"{table.name}"', "c": pk[0].name}
        ).scalar()
        if seq:
            conn.execute(
                text(f'SELECT setval(:s, COALESCE((SELECT MAX("{pk[0].name}") FROM "{table.name}"), 0) + 1, false)'),
                {"s": seq},
            )
