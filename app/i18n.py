"""Language and time zone: Accept-Language decides, the header switch overrides.

Babel names Simplified Chinese `zh_Hans_CN`; the catalog lives in `app/translations/zh_CN` and
`app/translations/zh_Hans_CN` is a link to it, so gettext finds it under the name Babel asks for.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l

from app.models import Role

LANG_COOKIE = "gs_lang"


def set_language_cookie(response, code: str) -> None:
    """Remember the header switch's language in this browser for a year (its own cookie, see auth.views)."""
    response.set_cookie(
        LANG_COOKIE,
        code,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=bool(has_request_context() and request.is_secure),
    )


def select_locale() -> str:
    """The session's chosen language, else the best match for Accept-Language, else Chinese."""
    langs = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI and background work
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.args.get("lang") or request.cookies.get(LANG_COOKIE) or session.get("lang")
    if chosen in langs:
        return chosen
    best = request.accept_languages.best_match(["zh_CN", "zh", "zh-CN", "en"])
    if best is None:
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    return "en" if best == "en" else "zh_CN"


def select_timezone() -> str:
    return current_app.config["TIMEZONE"]


def local_zone() -> ZoneInfo:
    """The configured local time zone (default Asia/Shanghai)."""
    return ZoneInfo(current_app.config["TIMEZONE"])


def iso(dt: datetime | None) -> str | None:
    """ISO-8601 with the local offset, e.g. 2026-11-29T20:10:00+08:00."""
    if dt is None:
        return None
    return dt.astimezone(local_zone()).isoformat(timespec="seconds")


# One date-and-time format per language on every page (the phone's scripts write the same, see outbox.js):
# ISO order reads the same in Chinese and English and never swaps day and month.
DATETIME_PATTERNS = {"zh": "yyyy-MM-dd HH:mm", "en": "yyyy-MM-dd HH:mm"}


def local_datetime(dt: datetime | None) -> str:
    """A moment in local time in the page's language's one format, e.g. 2026-12-07 13:46."""
    if dt is None:
        return ""
    if dt.tzinfo is None:  # rows read back naive from SQLite are UTC
        dt = dt.replace(tzinfo=UTC)
    return format_datetime(dt, DATETIME_PATTERNS.get(lang(), DATETIME_PATTERNS["zh"]))


def lang() -> str:
    """'zh' or 'en' for choosing a name column."""
    return "zh" if str(get_locale() or "zh_CN").startswith("zh") else "en"


def compile_stale_catalogs(directory: str) -> list[str]:
    """Compile each catalog whose .mo is missing or older than its .po (a checkout run without `make`, e.g.
    `pip install -e .` then gunicorn); returns the ones compiled. A read-only install is left as it is."""
    import os
    import tempfile
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    done = []
    for po in sorted(Path(directory).glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if po.is_symlink() or (mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime):
            continue
        try:
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=po.parent.parent.name)
            fd, tmp = tempfile.mkstemp(dir=po.parent, suffix=".mo")
            with os.fdopen(fd, "wb") as fh:
                write_mo(fh, catalog)
            os.replace(tmp, mo)  # several workers starting at once: each replaces the file whole
            done.append(str(mo))
        except OSError:
            continue
    return done


def init_app(app: Flask) -> None:
    """Compiled catalogs, and template helpers for dates and names."""
    compile_stale_catalogs(app.config["BABEL_TRANSLATION_DIRECTORIES"])

    @app.template_filter("localtime")
    def _localtime(dt):
        return local_datetime(dt)

    @app.context_processor
    def _helpers():
        return {"lang": lang(), "current_locale": str(get_locale() or "zh_CN")}

    # globals, not context: imported macros see them too
    app.jinja_env.globals.update(status_label=status_label, role_label=role_label, outcome_label=outcome_label)


def status_label(status: str | None) -> str:
    """The translated name of a status."""
    from app.triage.workflow import LABELS, Status

    try:
        return str(LABELS[Status(status)])
    except ValueError:
        return status or ""


def outcome_label(outcome: str | None) -> str:
    """The translated name of a closed report's outcome."""
    from app.triage.workflow import OUTCOME_LABELS, Outcome

    try:
        return str(OUTCOME_LABELS[Outcome(outcome)])
    except ValueError:
        return outcome or ""


ROLE_LABELS = {
    Role.RIDER: _l("Rider"),
    Role.HANDLER: _l("Handler"),
    Role.COORDINATOR: _l("Coordinator"),
    Role.ADMIN: _l("Administrator"),
}


def role_label(role: str) -> str:
    """The translated name of a role."""
    return str(ROLE_LABELS.get(role, role))
