"""Structured logs: one JSON object per line, each carrying the id of the request it belongs to."""

import json
import logging
import logging.config
import re
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wsgi import ClosingIterator

HEADER = "X-Request-ID"
_ACCEPTED = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
access_log = logging.getLogger("gridsnap.access")
# Open311 clients often send their api_key (a personal API token) in every query string.
_SECRET_QUERY = re.compile(r"(?i)((?:^|&)(?:api_key|access_token|token)=)[^&]*")


def current_request_id() -> str | None:
    """The id of the request being handled in this thread, if any."""
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    """Stamp every record with the current request id (None outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON: time, level, logger, message, request id and any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        out.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def logging_config(level: str = "INFO") -> dict:
    """A dictConfig that sends every logger (gunicorn's included) to stderr as JSON lines."""
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "json",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "app.ops.logs.RequestIdFilter"}},
        "formatters": {"json": {"()": "app.ops.logs.JsonFormatter"}},
        "handlers": {"json": handler},
        "root": {"level": level, "handlers": ["json"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["json"], "propagate": False},
            # The app writes its own access line (gridsnap.access) with the request id.
            "gunicorn.access": {"level": "WARNING", "handlers": ["json"], "propagate": False},
        },
    }


def _json_configured() -> bool:
    return any(isinstance(h.formatter, JsonFormatter) for h in logging.getLogger().handlers)


class RequestIdMiddleware:
    """Take X-Request-ID from the caller (or make one), echo it back, and log one access line."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        rid = environ.get("HTTP_X_REQUEST_ID", "")
        if not _ACCEPTED.match(rid):
            rid = uuid.uuid4().hex
        environ["HTTP_X_REQUEST_ID"] = rid
        request_id_var.set(rid)
        started = time.perf_counter()
        seen = {"status": 0, "length": None}

        def start(status, headers, exc_info=None):
            seen["status"] = int(status.split(" ", 1)[0])
            headers = [(k, v) for k, v in headers if k.lower() != HEADER.lower()]
            seen["length"] = next((v for k, v in headers if k.lower() == "content-length"), None)
            headers.append((HEADER, rid))
            return start_response(status, headers, exc_info)

        def done():
            access_log.info(
                "%s %s %s",
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
                seen["status"],
                extra={
                    "fields": {
                        "method": environ.get("REQUEST_METHOD"),
                        "path": environ.get("PATH_INFO"),
                        "query": _SECRET_QUERY.sub(r"\1[redacted]", environ.get("QUERY_STRING") or "") or None,
                        "status": seen["status"],
                        "bytes": int(seen["length"]) if seen["length"] else None,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                        "remote_addr": environ.get("REMOTE_ADDR"),
                        "user_agent": environ.get("HTTP_USER_AGENT"),
                    }
                },
            )
            request_id_var.set(None)

        try:
            body = self.wsgi_app(environ, start)
        except BaseException:
            seen["status"] = seen["status"] or 500
            done()
            raise
        return ClosingIterator(body, [done])


def _show_console_sms() -> None:
    """Plain-text logs (`flask run`, the demo): nothing configures logging there, so Python would print only
    warnings. The `console` SMS provider's messages (a rider's sign-in code in the demo) are shown on stderr."""
    sms = logging.getLogger("gridsnap.sms")
    if sms.handlers or logging.getLogger().handlers:
        return  # someone configured logging (gunicorn's JSON, pytest's capture): theirs
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    sms.addHandler(handler)
    sms.setLevel(logging.INFO)


def init_logging(app: Flask) -> None:
    """Request ids on every request; JSON logs when GRIDSNAP_LOG_FORMAT=json (gunicorn sets it)."""
    if app.config["LOG_FORMAT"] == "json" and not _json_configured():
        logging.config.dictConfig(logging_config(app.config["LOG_LEVEL"]))
    else:
        _show_console_sms()
    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app)
