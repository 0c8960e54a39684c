"""Domain errors raised by services, and the one place that maps them to HTTP responses."""

from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A refusal a person can understand: an HTTP status, a stable code and a message."""

    status = 400
    code = "bad_request"

    def __init__(self, message, *, code: str | None = None, status: int | None = None, **extra):
        super().__init__(str(message))
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.extra = extra


class ValidationFailed(DomainError):
    status, code = 400, "invalid"


class PhotoRejected(DomainError):
    status, code = 400, "bad_photo"


class PermissionDenied(DomainError):
    status, code = 403, "forbidden"


class NotFound(DomainError):
    status, code = 404, "not_found"


class InvalidTransition(DomainError):
    status, code = 409, "invalid_transition"


class StaleReport(DomainError):
    status, code = 409, "stale_version"


class StorageUnavailable(DomainError):
    status, code = 503, "storage_unavailable"


HTTP_MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Please log in first."),
    403: _l("You are not allowed to do that."),
    404: _l("Not found."),
    405: _l("That method is not allowed here."),
    409: _l("That conflicts with the current state."),
    413: _l("The upload is too large. Send fewer or smaller photos."),
    415: _l("That file type is not supported."),
    429: _l("Too many attempts. Please wait a minute and try again."),
    500: _l("Something went wrong on our side. Nothing was saved; please try again."),
    503: _l("The service is briefly unavailable. Please try again in a moment."),
}

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}


def wants_json() -> bool:
    """API paths and clients that ask for JSON get JSON errors."""
    return request.path.startswith("/api/") or request.is_json or request.accept_mimetypes.best == "application/json"


def register_error_format(app: Flask, prefix: str, render_error) -> None:
    """Answer errors under a path prefix with another document, render_error(status, message) (Open311's
    blueprint registers its own): the core knows no feature's format."""
    app.extensions.setdefault("gridsnap.error_formats", []).append((prefix, render_error))


def error_response(status: int, code: str, message, **extra):
    """The one JSON or HTML error shape (or the format registered for the request's path)."""
    for prefix, render_error in current_app.extensions.get("gridsnap.error_formats", ()):
        if request.path.startswith(prefix):
            return render_error(status, str(message))
    if wants_json():
        body = {"error": {"code": code, "message": str(message), **extra}}
        return jsonify(body), status
    return render_template("error.html", status=status, message=str(message), extra=extra), status


def register_errorhandlers(app: Flask) -> None:
    """Map domain and HTTP errors to responses; never a stack trace to the user."""

    @app.errorhandler(DomainError)
    def domain_error(err: DomainError):
        response = app.make_response(error_response(err.status, err.code, err.message, **err.extra))
        if err.status == 429 and err.extra.get("retry_after"):  # a limit that knows when it lifts
            response.headers["Retry-After"] = str(err.extra["retry_after"])
        if err.status == 503:  # e.g. the photo store is unreachable: retrying later will work
            response.headers.setdefault("Retry-After", "5")
            app.logger.warning("%s: %s", err.code, err.__cause__ or err)
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(err):
        return error_response(400, "csrf", _("Your form expired. Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        status = err.code or 500
        message = HTTP_MESSAGES.get(status, err.description)
        if isinstance(err, RateLimitExceeded) and err.limit.error_message:
            message = err.description  # a limit that says itself what was reached and when it lifts
        response = error_response(status, HTTP_CODES.get(status, "error"), message)
        if status == 503 or status == 429:
            resp = app.make_response(response)
            # Flask-Limiter raises it to when the limit reached lifts (the outbox waits that long)
            resp.headers.setdefault("Retry-After", "5")
            return resp
        return response

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        from sqlalchemy.exc import OperationalError

        from app.extensions import db

        db.session.rollback()
        if isinstance(err, OperationalError):
            # The database is unreachable or locked: a retry will work, nothing was written.
            # The page is drawn for an anonymous visitor: loading the user would need the database.
            g._login_user = app.login_manager.anonymous_user()
            resp = app.make_response(error_response(503, "unavailable", HTTP_MESSAGES[503]))
            resp.headers["Retry-After"] = "5"
            app.logger.warning("database unavailable: %s", err)
            return resp
        app.logger.exception("unhandled error")
        return error_response(500, "server_error", HTTP_MESSAGES[500])


def _texts(value):
    """Every string in a JSON value, keys too; a loop, not recursion: a body may nest 900 lists deep."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _unstorable(value) -> str | None:
    """What no database stores, in one walk over every text: "nul" (a NUL character, which PostgreSQL
    refuses) or "surrogate" (a lone one, "\\ud800" in JSON); None when every text is fine."""
    for text in _texts(value):
        if "\x00" in text:
            return "nul"
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "surrogate"
    return None


def refuse_nul_characters() -> None:
    """No text field anywhere may carry a NUL character (PostgreSQL refuses it in text): a clear 400.

    A JSON body nested too deep to parse, or with a lone surrogate no database can store, is a 400 too.

    Open311 cleans its own input the way its spec's clients expect, so its paths are left to it.
    """
    if request.path.startswith("/open311/") or request.path.startswith("/static/"):
        return
    values = [v for vs in request.args.listvalues() for v in vs]  # every value of a repeated key too
    values += list((request.view_args or {}).values())  # and the URL's own parts, e.g. /join/<token>
    if request.method in ("POST", "PUT", "PATCH"):
        values += [v for vs in request.form.listvalues() for v in vs]
        if request.is_json:
            try:
                body = request.get_json(silent=True)
            except RecursionError:  # [[[[... nested deeper than the parser goes
                raise ValidationFailed(HTTP_MESSAGES[400], code="invalid_json") from None
            values.append(body)
    problem = _unstorable(values)
    if problem == "surrogate":
        raise ValidationFailed(HTTP_MESSAGES[400], code="invalid_json")
    if problem == "nul":
        raise ValidationFailed(_l("Text may not contain NUL characters."), code="invalid_text")
