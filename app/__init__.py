"""GridSnap: the application factory."""

import os

from flask import Flask

from app import config, paths


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, error handlers, commands."""
    app = Flask(
        __name__,
        template_folder=paths.shipped("templates"),
        static_folder=paths.shipped("static"),
        instance_path=os.environ.get("GRIDSNAP_INSTANCE_DIR") or paths.default_instance_dir(),
        instance_relative_config=True,
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(config.from_environment(app.instance_path))
    if test_config:
        app.config.update(test_config)
    from app.maps import provider

    provider(app.config)  # a wrong map provider or a missing key is told at start-up, not on every map
    app.extensions["gridsnap.factory"] = create_app  # a second app on another database (db copy)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from app import i18n
    from app.database import init_database
    from app.extensions import babel, csrf, db, limiter, login_manager, migrate
    from app.storage import init_storage

    register_models()
    from app import ops, security

    security.init_app(app)  # headers, Secure cookies; before Flask-Login (see security.init_app)
    ops.init_app(app)  # request ids, JSON logs, engine timeouts: before the engine exists
    db.init_app(app)
    init_database(app)
    migrate.init_app(app, db, directory=paths.shipped("migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=i18n.select_timezone)
    limiter.init_app(app)
    init_storage(app)
    i18n.init_app(app)
    from app import assets

    assets.init_app(app)  # versioned static URLs, compressed responses
    from app.auth import login as _login  # noqa: F401  (user loader and request loader)


def register_models() -> None:
    """Every table, core and feature, before any mapper is configured (and for Alembic): the core models
    know the feature models only by name, so the factory imports them all."""
    from app import audit, models  # noqa: F401
    from app.grids import models as _grids  # noqa: F401
    from app.notify import models as _notify  # noqa: F401
    from app.reports import models as _reports  # noqa: F401
    from app.summaries import models as _summaries  # noqa: F401
    from app.teams import models as _teams  # noqa: F401
    from app.triage import models as _triage  # noqa: F401


def register_blueprints(app: Flask) -> None:
    """Every blueprint, one way, here. Views are imported here, not in the packages' __init__, so models can
    import pure modules such as app.triage.workflow without pulling in the web layer; importing a view module
    attaches its routes to its blueprint."""
    from app import notify, pages
    from app.admin import bp as admin_bp
    from app.admin import notifications as _admin_notifications  # noqa: F401  (robots, undelivered)
    from app.admin import places as _admin_places  # noqa: F401  (the gazetteer)
    from app.admin import views as _admin_views  # noqa: F401  (/admin, admins only)
    from app.api import bp as api_bp
    from app.api import community as _api_community  # noqa: F401  (leaderboard, grids, teams)
    from app.api import docs, open311  # Open311 GeoReport v2; the OpenAPI document and its page
    from app.api import notifications as _api_notifications  # noqa: F401  (the bell)
    from app.api import receipts as _api_receipts  # noqa: F401  (a report's signed receipt)
    from app.api import reports as _api_reports  # noqa: F401
    from app.api import signin as _api_signin  # noqa: F401  (sign-in by text message)
    from app.api import triage as _api_triage  # noqa: F401  (the workflow's /api/v1 routes)
    from app.auth import bp as auth_bp
    from app.auth import views as _auth_views  # noqa: F401
    from app.inputs import RowIdConverter
    from app.notify import views as _notify_views  # noqa: F401  (/notifications)
    from app.ops import bp as ops_bp  # /readyz
    from app.reports import bp as reports_bp
    from app.reports import receipt_views as _receipt_views  # noqa: F401  (receipts, /verify, the key)
    from app.reports import views as _report_views  # noqa: F401
    from app.reports.places import place_label, place_of
    from app.summaries import bp as summaries_bp
    from app.summaries import views as _summary_views  # noqa: F401
    from app.teams import bp as teams_bp
    from app.teams import recognition
    from app.teams import views as _team_views  # noqa: F401
    from app.triage import bp as triage_bp
    from app.triage import views as _triage_views  # noqa: F401
    from app.triage.confirmation import asks_current_user

    app.url_map.converters["int"] = RowIdConverter  # before any rule: ids past the column's range are 404
    for blueprint in (
        pages.bp,
        auth_bp,
        reports_bp,
        triage_bp,
        summaries_bp,
        api_bp,
        teams_bp,
        admin_bp,
        ops_bp,
        notify.bp,
        open311.bp,
        docs.bp,
    ):
        app.register_blueprint(blueprint)
    notify.init_app(app)  # the outbox hooks, the bell, /notifications
    recognition.init_app(app)  # points and badges earned, told through the EARNED hook
    from app import summaries

    summaries.init_app(app)  # the Monday job: publish last week, email the digest
    app.jinja_env.globals["asks_confirmation"] = asks_current_user  # the "Is it fixed?" card
    app.jinja_env.globals["place_of"] = place_of  # a report's place by name
    app.jinja_env.globals["place_label"] = place_label  # a place by name (a hotspot's), "zh" or "en"
    app.jinja_env.globals["map_config"] = browser_map_config  # the base map (the leaflet() macro)


def browser_map_config() -> dict:
    """The base map's configuration for the page, with its switch's labels in the page's language."""
    from flask import current_app
    from flask_babel import gettext

    from app.maps import map_config

    return {**map_config(current_app.config), "labels": {"roads": gettext("Map"), "satellite": gettext("Satellite")}}


def register_errorhandlers(app: Flask) -> None:
    from app.errors import refuse_nul_characters
    from app.errors import register_errorhandlers as register

    register(app)
    app.before_request(refuse_nul_characters)


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)
