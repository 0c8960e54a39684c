"""Browser-facing protections: security headers, a Content-Security-Policy, Secure cookies over HTTPS,
a small body limit for JSON requests, and a limit on sending unknown API tokens."""

from flask import Flask, abort, current_app, g, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from limits import parse

from app.extensions import client_address

# Scripts only from our own files (no inline code, no eval); styles may be inline (templates and Leaflet
# set style attributes); images from anywhere, because map tiles and presigned photo URLs come from
# configurable hosts, plus data:/blob: for Leaflet's icons and the rider's photo previews.
CONTENT_SECURITY_POLICY = "; ".join(
    [
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
    ]
)

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",  # tile servers still see our origin, never a path
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}


# Responses that never write the session: static files and the service worker's script and manifest.
NO_SESSION_ENDPOINTS = frozenset({"static", "pages.service_worker", "pages.manifest"})


class SessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, marked Secure whenever the request came over HTTPS.

    The cookie is written back only by a request that changed the session. Flask's default re-sends a
    permanent session ("keep me logged in") on every response; a page's static files and the service
    worker's background requests, sent with the cookie as it was when they started, then wrote that old
    session over a change made meanwhile (a language switch tapped during the first page load was lost)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)

    def should_set_cookie(self, app: Flask, session) -> bool:
        if has_request_context() and request.endpoint in NO_SESSION_ENDPOINTS:
            return False
        return bool(session.modified)


def _limit_json_body() -> None:
    # Read lazily by Werkzeug: a longer body (or a longer chunked stream) is refused with 413.
    if request.is_json:
        limit = current_app.config["MAX_JSON_BYTES"]
        request.max_content_length = min(limit, request.max_content_length or limit)


def _protect(response):
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure:  # over HTTPS: stay on HTTPS, and every cookie we set (remember-me too) is Secure
        response.headers.setdefault("Strict-Transport-Security", "max-age=15552000")
        cookies = response.headers.getlist("Set-Cookie")
        if any("; secure" not in c.lower() for c in cookies):
            response.headers.remove("Set-Cookie")
            for c in cookies:
                response.headers.add("Set-Cookie", c if "; secure" in c.lower() else c + "; Secure")
    return response


def _token_failures():
    return parse(current_app.config["TOKEN_FAILURE_LIMIT"]), "token-failures", client_address()


def note_token_failure() -> None:
    """Count an unknown or revoked API token sent from this address (once per request); past
    TOKEN_FAILURE_LIMIT the answer is 429 instead of 401/403 until the window passes.

    Only failures are counted and refused: a valid token is looked up and passes whatever bad ones its address
    sent (tokens are 256-bit random, so the count is about noise, and an address may be shared)."""
    from app.extensions import limiter

    if not limiter.enabled or g.get("token_failure_noted"):
        return
    g.token_failure_noted = True
    try:
        within = limiter.limiter.hit(*_token_failures())
    except Exception as err:  # the limits' store is down: answer as without it, like Flask-Limiter
        current_app.logger.warning("token failure not counted: %s", err)
        return
    if not within:
        g._login_user = current_app.login_manager.anonymous_user()  # the error page must not try the token again
        abort(429)


def init_app(app: Flask) -> None:
    """Install the protections; call before Flask-Login, so this hook sees its remember-me cookie
    (after_request hooks run last-registered first)."""
    app.session_interface = SessionInterface()
    app.before_request(_limit_json_body)
    app.after_request(_protect)
