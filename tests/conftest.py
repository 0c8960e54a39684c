"""Fixtures: an app per database backend (SQLite always, PostgreSQL when TEST_DATABASE_URL is set).

The schema is built once per backend by the Alembic migrations (so they are tested too);
every test then starts from empty tables plus the seeded categories and departments.
"""
import os
import uuid

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db

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
    url = make_url(base)
    name = f"gs_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


_migrated: set[str] = set()


def _clean(app) -> None:
    """Empty every table and seed the reference data again."""
    from app.catalog import seed_reference_data
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE {} RESTART IDENTITY CASCADE".format(
            ", ".join(f'"{t.name}"' for t in tables))))
    else:
        for t in tables:
            db.session.execute(t.delete())
    db.session.commit()
    seed_reference_data()
    db.session.commit()


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, tmp_path_factory, pg_url):
    """The app on a migrated, emptied database, with uploads in a temporary folder."""
    if request.param == "postgresql":
        need(pg_url is not None, "PostgreSQL not configured: set TEST_DATABASE_URL")
        url = pg_url
    else:
        url = "sqlite:///" + str(tmp_path_factory.getbasetemp() / "gridsnap-test.db")
    uploads = tmp_path_factory.mktemp("uploads")
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(uploads),
        "SECRET_KEY": "test", "WTF_CSRF_ENABLED": True, "RATELIMIT_ENABLED": True,
        "GEOCODER": "", "SERVER_NAME": None,
    })
    with app.app_context():
        if url not in _migrated:
            from flask_migrate import upgrade
            upgrade()
            _migrated.add(url)
        _clean(app)
        from app.extensions import limiter
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
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
