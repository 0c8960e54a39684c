"""Fixtures: an app per database backend (SQLite always, PostgreSQL when TEST_DATABASE_URL is set).

The schema is built once per backend by the Alembic migrations (so they are tested too);
every test then starts from empty tables plus the seeded categories and departments.
"""

import os
import uuid

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from app import create_app
from app.extensions import db
from tests.servers import s3_bucket

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
IN_CI = bool(os.environ.get("CI"))


def need(condition: bool, reason: str) -> None:
    """Skip with a clear reason when something is missing, but fail in CI where it must be there."""
    if not condition:
        if IN_CI:
            pytest.fail(f"{reason} (required when CI is set)")
        pytest.skip(reason)


def fixture_bytes(name: str) -> bytes:
    with open(os.path.join(FIXTURES, name), "rb") as fh:
        return fh.read()


@pytest.fixture(scope="session")
def pg_url():
    """A private PostgreSQL database for this test session, dropped afterwards."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield None
        return
    from tests.servers import PostgresDatabase

    database = PostgresDatabase(base, prefix="gs_t").create()
    yield database.url
    database.drop()


_migrated: set[str] = set()


def _clean(app) -> None:
    """Empty every table and seed the reference data again."""
    from app.catalog import seed_reference_data

    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            text("TRUNCATE {} RESTART IDENTITY CASCADE".format(", ".join(f'"{t.name}"' for t in tables)))
        )
    else:
        for t in tables:
            db.session.execute(t.delete())
    db.session.commit()
    seed_reference_data()
    db.session.commit()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's S3-compatible server for this session (None when moto is not installed)."""
    from tests.servers import MotoS3

    if not MotoS3.available():
        yield None
        return
    server = MotoS3(log_path=str(tmp_path_factory.getbasetemp() / "moto.log")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url():
    """TEST_REDIS_URL (CI starts redis-server), else a private redis-server, else None."""
    from tests.servers import RedisServer

    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
    elif RedisServer.available():
        server = RedisServer().start()
        yield server.url
        server.stop()
    else:
        yield None


_SESSION_PREFIX = f"gs-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(params=["sqlite", "postgresql", "postgresql-s3"])
def app(request, tmp_path_factory, pg_url):
    """The app on a migrated, emptied database, with uploads in a temporary folder.

    "postgresql-s3" is the scale-out set-up: PostgreSQL, photos in S3 (moto), rate limits in Redis;
    every test runs on it too (nothing is deselected), so the whole suite proves that set-up.
    """
    extra = {}
    if request.param.startswith("postgresql"):
        need(pg_url is not None, "PostgreSQL not configured: set TEST_DATABASE_URL")
        url = pg_url
    else:
        url = "sqlite:///" + str(tmp_path_factory.getbasetemp() / "gridsnap-test.db")
    if request.param == "postgresql-s3":
        server, redis = request.getfixturevalue("s3_server"), request.getfixturevalue("redis_url")
        need(server is not None, "moto[server] not installed: pip install 'moto[server]'")
        need(redis is not None, "Redis not available: set TEST_REDIS_URL or install redis-server")
        extra = {
            **s3_bucket(server),
            "RATELIMIT_STORAGE_URI": redis,
            "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": _SESSION_PREFIX, "socket_timeout": 2},
        }
    uploads = tmp_path_factory.mktemp("uploads")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "UPLOAD_DIR": str(uploads),
            "SECRET_KEY": "test",
            "WTF_CSRF_ENABLED": True,
            "RATELIMIT_ENABLED": True,
            "GEOCODER": "",
            "SERVER_NAME": None,
            **extra,
        }
    )
    with app.app_context():
        if url not in _migrated:
            from flask_migrate import upgrade

            upgrade()
            _migrated.add(url)
        _clean(app)
        from app.extensions import limiter

        # Flask-Limiter keeps "storage dead" per Limiter object, not per app: a test that made Redis unreachable
        # must not leave the next app counting on its in-memory fallback (a limit would then not hold).
        limiter._storage_dead = False
        limiter.reset()
        yield app
        db.session.remove()
        db.engine.dispose()


class FreshContextClient(FlaskClient):
    """Each request gets its own app context (own `g`, own DB session), as in production,
    even though the test itself holds an app context for direct service calls."""

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = FreshContextClient
    client = app.test_client()
    # Tests read English unless they ask otherwise; the site's own default (Chinese for a browser
    # that names no language) is tested by removing this or sending an explicit header.
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def texts(monkeypatch):
    """The text messages the console SMS provider sends, as (number, kind, params), in order."""
    from app.sms import ConsoleSms

    sent: list[tuple[str, str, dict]] = []
    send = ConsoleSms.send

    def record(self, phone_e164, kind, params, *, key):
        sent.append((phone_e164, str(kind), dict(params)))
        return send(self, phone_e164, kind, params, key=key)

    monkeypatch.setattr(ConsoleSms, "send", record)
    return sent


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
