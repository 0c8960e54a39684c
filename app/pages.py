"""Site-wide pages: the front door and the health check."""

from flask import Blueprint, jsonify, redirect, url_for
from flask_login import current_user
from sqlalchemy import text

from app.extensions import db

bp = Blueprint("pages", __name__)


@bp.route("/", endpoint="index")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    if current_user.is_staff:
        return redirect(url_for("triage.board"))
    if current_user.is_handler:
        return redirect(url_for("triage.my_tasks"))
    return redirect(url_for("reports.new"))


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok")


# The installable web app: manifest and service worker (served from the root so it controls every page).
SHELL_ASSETS = (
    "css/app.css",
    "js/exif.js",
    "js/outbox.js",
    "js/app.js",
    "js/voice.js",
    "js/place.js",
    "js/report.js",
    "js/bell.js",
    "js/wechat.js",
    "vendor/leaflet/leaflet.js",
    "js/leaflet-setup.js",
    "js/coords.js",
    "js/map.js",
    "js/places.js",
    "vendor/leaflet/leaflet.css",
    "vendor/leaflet/images/marker-icon.png",
    "vendor/leaflet/images/marker-icon-2x.png",
    "vendor/leaflet/images/marker-shadow.png",
    "icons/app.svg",
    "icons/app-192.png",
    "icons/camera.svg",
)


@bp.route("/manifest.webmanifest")
def manifest():
    from flask_babel import gettext as _

    from app.i18n import lang

    body = {
        "name": "网格随手拍 GridSnap",
        "short_name": _("GridSnap"),
        "description": _("Snap a problem on your rounds; the grid centre gets it solved."),
        "lang": "zh-CN" if lang() == "zh" else "en",
        "start_url": url_for("reports.new"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#f4f5f7",
        "theme_color": "#0b5cad",
        "icons": [
            {"src": url_for("static", filename="icons/app-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": url_for("static", filename="icons/app-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": url_for("static", filename="icons/app-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
            {"src": url_for("static", filename="icons/app.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
        "shortcuts": [{"name": _("My reports"), "url": url_for("reports.mine")}],
    }
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "no-cache"
    return response


OFFLINE_PAGES = ("reports.new", "reports.mine")  # the rider's pages the service worker keeps


@bp.app_template_global()
def offline_pages() -> list[str]:
    """Paths of the pages kept for offline use (logging out deletes them from the phone)."""
    return [url_for(endpoint) for endpoint in OFFLINE_PAGES]


@bp.route("/sw.js")
def service_worker():
    import hashlib

    from flask import current_app, render_template

    from app.reports.services import categories

    icons = sorted({f"icons/{c.icon}.svg" for c in categories()})
    assets = [url_for("static", filename=name) for name in (*SHELL_ASSETS, *icons)]
    pages = offline_pages()
    from app.maps import tile_hosts

    hosts, budget = tile_hosts(current_app.config), int(current_app.config["TILE_CACHE_MB"] * 1024 * 1024)
    version = hashlib.sha256("\n".join([*assets, *pages, *hosts, str(budget)]).encode()).hexdigest()[:12]
    body = render_template(
        "sw.js",
        assets=assets,
        pages=pages,
        version=version,
        outbox=url_for("static", filename="js/outbox.js"),
        tile_hosts=hosts,
        tile_budget=budget,
    )
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    # The worker fetches the map tiles it keeps: its own policy lets it reach the tile servers, nothing else.
    from app.security import CONTENT_SECURITY_POLICY

    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "connect-src 'self'", " ".join(["connect-src 'self'", *hosts])
    )
    return response
