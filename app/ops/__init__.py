"""Operations: readiness, request ids and JSON logs, storage upkeep, backups, database copies."""

from flask import Blueprint, Flask

bp = Blueprint("ops", __name__)


def init_app(app: Flask) -> None:
    """Production settings, request ids and logs; call before the database is bound."""
    from app.ops.logs import init_logging

    cfg = app.config
    if cfg["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # Fail fast when the database is unreachable, so clients get a 503 rather than a hang.
        options = cfg.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        options.setdefault("connect_args", {}).setdefault("connect_timeout", cfg["DB_CONNECT_TIMEOUT"])
        options.setdefault("pool_size", cfg["DB_POOL_SIZE"])
        options.setdefault("max_overflow", cfg["DB_MAX_OVERFLOW"])
    if str(app.config.get("RATELIMIT_STORAGE_URI", "")).startswith(("redis://", "rediss://", "redis+")):
        # Limits are shared by every server through Redis; if Redis goes away, count per process
        # rather than refuse logins, and come back to Redis when it answers again.
        app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 1})
    init_logging(app)


from app.ops import views as _views  # noqa: E402,F401
