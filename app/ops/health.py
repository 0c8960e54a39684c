"""Readiness: can this server do its job (database and photo store reachable)?"""

from sqlalchemy import text

from app.extensions import db
from app.storage import photo_store


def readiness() -> dict[str, str]:
    """Each dependency with 'ok' or why it is not usable."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as err:
        db.session.rollback()
        checks["database"] = f"unreachable: {type(err).__name__}"
    try:
        photo_store().ping()
        checks["photo_store"] = "ok"
    except Exception as err:
        cause = err.__cause__ or err
        checks["photo_store"] = f"unreachable: {type(cause).__name__}"
    return checks
