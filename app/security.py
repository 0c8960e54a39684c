"""Browser-facing protections: security headers, a Content-Security-Policy, Secure cookies over HTTPS,
and a small body limit for JSON requests."""
from flask import Flask, current_app, has_request_context, request
from flask.sessions import SecureCookieSessionInterface

# Scripts only from our own files (no inline code, no eval); styles may be inline (templates and Leaflet
# set style attributes); images from anywhere, because map tiles and presigned photo URLs come from
# configurable hosts, plus data:/blob: for Leaflet's icons and the rider's photo previews.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob: https: http:",
    "connect-src 'self'",
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",  # tile servers still see our origin, never a path
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}

# JSON bodies are small (a move, a comment); photos come as multipart forms under MAX_CONTENT_LENGTH.
MAX_JSON_BYTES = 1024 * 1024


class SessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def _limit_json_body() -> None:
    # Read lazily by Werkzeug: a longer body (or a longer chunked stream) is refused with 413.
    if request.is_json:
        request.max_content_length = min(current_app.config.get("MAX_JSON_BYTES", MAX_JSON_BYTES),
                                         request.max_content_length or MAX_JSON_BYTES)


def _protect(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:  # over HTTPS every cookie we set (remember-me too) is Secure
        cookies = response.headers.getlist("Set-Cookie")
        if any("; secure" not in c.lower() for c in cookies):
            response.headers.remove("Set-Cookie")
            for c in cookies:
                response.headers.add("Set-Cookie", c if "; secure" in c.lower() else c + "; Secure")
    return response


def init_app(app: Flask) -> None:
    """Install the protections; call before Flask-Login, so this hook sees its remember-me cookie
    (after_request hooks run last-registered first)."""
    app.session_interface = SessionInterface()
    app.config.setdefault("MAX_JSON_BYTES", MAX_JSON_BYTES)
    app.before_request(_limit_json_body)
    app.after_request(_protect)
