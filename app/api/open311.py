"""Open311 GeoReport v2 at /open311: discovery, services, requests (JSON and XML), public media."""

import hashlib
import io
import re

from flask import Blueprint, abort, current_app, g, request, send_file, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.datastructures import CombinedMultiDict

from app.api import open311_services as services
from app.api import open311_updates as updates
from app.api.open311_format import render
from app.errors import PermissionDenied, register_error_format
from app.extensions import client_address, csrf, db, limiter
from app.i18n import lang
from app.reports.limits import report_limit
from app.security import note_token_failure
from app.storage import photo_store

bp = Blueprint("open311", __name__, url_prefix="/open311")
csrf.exempt(bp)  # api_key authenticates POSTs; there is no cookie session here

FORMAT = "<any(json, xml):fmt>"
SPEC = "http://wiki.open311.org/GeoReport_v2"

# Every read, per address: the feed is public and each page of it costs queries.
read_limit = limiter.shared_limit(lambda: current_app.config["OPEN311_READ_RATE_LIMIT"], "open311-read")


def open311_error(status: int, message: str):
    """The spec's error document: a list of {code, description}, in the request's format."""
    path = request.path
    fmt = (
        "json"
        if path.endswith(".json")
        else "xml"
        if path.endswith(".xml")
        else ("json" if request.accept_mimetypes.best == "application/json" else "xml")
    )
    return render("errors", [{"code": status, "description": message}], fmt, status)


# Errors under /open311/ (unknown routes too) answer with the spec's error document.
bp.record_once(lambda state: register_error_format(state.app, "/open311/", open311_error))


@bp.before_request
def _locale_from_request():
    """`locale` (e.g. en, zh_CN, zh-Hans) chooses the language; otherwise Accept-Language does."""
    wanted = (request.args.get("locale") or request.form.get("locale") or "").lower()
    chosen = "en" if wanted.startswith("en") else "zh_CN" if wanted.startswith("zh") else None
    if chosen:
        g.open311_locale = force_locale(chosen)
        g.open311_locale.__enter__()


@bp.teardown_request
def _locale_done(_exc):
    cm = g.pop("open311_locale", None)
    if cm is not None:
        cm.__exit__(None, None, None)


@bp.route("/discovery.<any(json, xml):fmt>")
@read_limit
def discovery(fmt: str):
    changeset = services.changeset()
    endpoint = {
        "specification": SPEC,
        "url": request.url_root.rstrip("/") + "/open311/v2",
        "changeset": changeset,
        "type": "production",
        "formats": ["text/xml", "application/json"],
    }
    data = {
        "changeset": changeset,
        "contact": current_app.config.get("OPEN311_CONTACT")
        or _("Ask the GridSnap coordinators of your county for assistance."),
        "key_service": _(
            "Log in to GridSnap and create a personal API token on your profile page: %(url)s",
            url=url_for("auth.profile", _external=True),
        ),
        "endpoints": [endpoint],
    }
    return render("discovery", data, fmt)


@bp.route(f"/v2/services.{FORMAT}")
@read_limit
def service_list(fmt: str):
    return render("services", services.service_list(lang()), fmt)


@bp.route(f"/v2/services/<path:code>.{FORMAT}")
@read_limit
def service_definition(code: str, fmt: str):
    return render("service_definition", services.service_definition(code), fmt)


def _params() -> CombinedMultiDict:
    """A POST's parameters: the form body, then the query string (the spec's swagger puts them there)."""
    return CombinedMultiDict([request.form, request.args])


def _api_key_owner():
    """The user an Open311 POST's api_key names, or None; looked up once (the rider's limit asks too)."""
    if "api_key_owner" not in g:
        try:
            g.api_key_owner = services.user_for_api_key(_params().get("api_key"))
        except PermissionDenied as err:
            g.api_key_owner, g.api_key_refused = None, err
    return g.api_key_owner


def _api_key_bucket() -> str:
    """Rate-limit POSTs per api_key (hashed, so no token sits in the limiter's storage)."""
    key = (_params().get("api_key") or "").strip()
    if not key:
        return "ip:" + client_address()
    return "key:" + hashlib.sha256(key.encode()).hexdigest()


_ATTRIBUTE = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")


def _attributes(form) -> dict[str, list[str]]:
    """attribute[code]=v and attribute[code][]=v1&attribute[code][]=v2 as code -> values."""
    found: dict[str, list[str]] = {}
    for key in form:
        m = _ATTRIBUTE.match(key)
        if m:
            found.setdefault(m.group(1), []).extend(form.getlist(key))
    return found


_PHOTO_FIELD = re.compile(r"^photo([1-9]\d{0,2})$")


def _uploads() -> list:
    """A POST's photo files: `media`, then FixMyStreet's photo1, photo2, ... in order (Open311.pm uploads a
    private report's photos itself, with no media_url, as the server could not fetch them)."""
    numbered = sorted((int(m.group(1)), key) for key in request.files if (m := _PHOTO_FIELD.match(key)))
    names = ["media"] + [key for _n, key in numbered]
    return [u.stream for name in names for u in request.files.getlist(name) if u.filename]


@bp.route(f"/v2/requests.{FORMAT}", methods=["POST"])
@limiter.limit(lambda: current_app.config["OPEN311_RATE_LIMIT"], key_func=_api_key_bucket)
@report_limit(filer=_api_key_owner)
def create_request(fmt: str):
    user = _api_key_owner()
    if user is None:
        if g.api_key_refused.code == "api_key_invalid":
            note_token_failure()
        raise g.api_key_refused
    params = _params()
    report, created = services.file_request(
        user,
        photo_store(),
        params,
        _attributes(params),
        media=_uploads(),
        idempotency_key=request.headers.get("Idempotency-Key"),
    )
    db.session.commit()
    if created:
        from app.reports.addresses import lookup_address_later

        lookup_address_later(report.id)
    account = (report.contact or {}).get("account_id") or None
    return render(
        "requests",
        [
            {
                "service_request_id": report.reference,
                "service_notice": services.service_notice(report.category),
                "account_id": account,
            }
        ],
        fmt,
    )


def _media_url(report) -> str | None:
    """A public photo URL only when public media are switched on (photos may show number plates)."""
    if not current_app.config.get("OPEN311_PUBLIC_MEDIA"):
        return None
    photo = next((p for p in report.photos if p.kind == "report"), None)
    if photo is not None:
        return url_for("open311.media", photo_id=photo.id, _external=True)
    return (report.attributes or {}).get("media_url")


def _documents(reports) -> list[dict]:
    return services.request_documents(reports, lang(), {r.id: _media_url(r) for r in reports})


@bp.route(f"/v2/requests.{FORMAT}", methods=["GET"])
@read_limit
def request_list(fmt: str):
    query = services.parse_query(request.args)
    reports = services.find_requests(query, with_photos=bool(current_app.config.get("OPEN311_PUBLIC_MEDIA")))
    return render("requests", _documents(reports), fmt)


@bp.route(f"/v2/requests/<path:service_request_id>.{FORMAT}")
@read_limit
def request_detail(service_request_id: str, fmt: str):
    return render("requests", _documents([services.get_request(service_request_id)]), fmt)


@bp.route(f"/v2/servicerequestupdates.{FORMAT}", methods=["GET"])
@read_limit
def update_list(fmt: str):
    """mySociety's extension: the public updates whose updated_datetime lies in [start_date, end_date]."""
    rows = updates.find_updates(updates.parse_window(request.args), _reader())
    public = bool(current_app.config.get("OPEN311_PUBLIC_MEDIA"))  # photos may show number plates
    extended = bool(current_app.config.get("OPEN311_EXTENDED_STATUSES"))
    return render("updates", updates.update_documents(rows, _photo_url if public else None, extended), fmt)


def _reader():
    """The account a GET's api_key names, or None without one (FixMyStreet sends its key, or an empty one);
    an unknown or revoked key is a 403, as on POST."""
    key = (request.args.get("api_key") or "").strip()
    if not key:
        return None
    try:
        return services.user_for_api_key(key)
    except PermissionDenied as err:
        if err.code == "api_key_invalid":
            note_token_failure()
        raise


def _photo_url(photo_id: int) -> str:
    return url_for("open311.media", photo_id=photo_id, _external=True)


@bp.route(f"/v2/servicerequestupdates.{FORMAT}", methods=["POST"])
@limiter.limit(lambda: current_app.config["OPEN311_RATE_LIMIT"], key_func=_api_key_bucket)
def post_update(fmt: str):
    """mySociety's extension: a citizen's update from the client system, kept as a comment on the report."""
    user = _api_key_owner()
    if user is None:
        if g.api_key_refused.code == "api_key_invalid":
            note_token_failure()
        raise g.api_key_refused
    event, _created = updates.post_update(user, _params(), _uploads(), current_app.config["MAX_PHOTOS"])
    db.session.commit()
    return render("updates", [{"update_id": str(event.id)}], fmt)


@bp.route(f"/v2/tokens/<path:token>.{FORMAT}")
@read_limit
def token(token: str, fmt: str):
    return open311_error(
        404, _("GridSnap returns the service_request_id at once (type realtime), so there are no tokens to look up.")
    )


@bp.route("/media/<int:photo_id>.jpg")
@read_limit
def media(photo_id: int):
    """A report's photo for Open311 clients, only while GRIDSNAP_OPEN311_PUBLIC_MEDIA is on and only of
    a report the feed shows."""
    photo = services.public_photo(photo_id) if current_app.config.get("OPEN311_PUBLIC_MEDIA") else None
    if photo is None:
        abort(404)
    store = photo_store()
    path = store.path(photo.key)
    response = (
        send_file(path, mimetype="image/jpeg", conditional=True, etag=True)
        if path
        else send_file(io.BytesIO(store.get(photo.key)), mimetype="image/jpeg")
    )
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
