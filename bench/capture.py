"""The raw SQL behind a piece of the app, for the benches' floors: capture the statements it sends,
then replay them through the bare DB-API cursor (execute and fetch, nothing else)."""

from __future__ import annotations

import time
from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def statements(engine, marker: str | None = None):
    """Collect (statement, parameters) of everything sent to `engine` in the block (only statements
    containing `marker`, when given)."""
    captured: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if marker is None or marker in statement:
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield captured
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def replay(engine, captured: list[tuple[str, object]], runs: int, warm: int = 0) -> list[float]:
    """Seconds per run of executing and fetching every captured statement (after `warm` untimed runs)."""
    out: list[float] = []
    dbapi = engine.raw_connection()
    try:
        cur = dbapi.cursor()
        for i in range(warm + runs):
            t = time.perf_counter()
            for statement, parameters in captured:
                cur.execute(statement, parameters)
                cur.fetchall()
            if i >= warm:
                out.append(time.perf_counter() - t)
        cur.close()
    finally:
        dbapi.close()
    return out
