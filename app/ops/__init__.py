"""Operations: readiness, request ids and JSON logs, storage upkeep, backups, database copies."""

import os

from flask import Blueprint, Flask

bp = Blueprint("ops", __name__)


def init_app(app: Flask) -> None:
    """Production settings, request ids and logs; call before the database is bound."""
    from app.ops.logs import init_logging

    env = os.environ.get
    app.config.setdefault("LOG_FORMAT", env("GRIDSNAP_LOG_FORMAT") or "text")
    app.config.setdefault("LOG_LEVEL", env("GRIDSNAP_LOG_LEVEL") or "INFO")
    # How many proxies (load balancer, nginx/Caddy) sit in front and set X-Forwarded-For/-Proto.
    app.config.setdefault("PROXY_COUNT", int(env("GRIDSNAP_PROXY_COUNT") or 0))
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # Fail fast when the database is unreachable, so clients get a 503 rather than a hang.
        options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
        options.setdefault("connect_args", {}).setdefault(
            "connect_timeout", int(env("GRIDSNAP_DB_CONNECT_TIMEOUT") or 3)
        )
        options.setdefault("pool_size", int(env("GRIDSNAP_DB_POOL_SIZE") or 3))
        options.setdefault("max_overflow", int(env("GRIDSNAP_DB_MAX_OVERFLOW") or 2))
    if str(app.config.get("RATELIMIT_STORAGE_URI", "")).startswith(("redis://", "rediss://", "redis+")):
        # Limits are shared by every server through Redis; if Redis goes away, count per process
        # rather than refuse logins, and come back to Redis when it answers again.
        app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 1, "socket_timeout": 1})
    init_logging(app)


from app.ops import views as _views  # noqa: E402,F401
