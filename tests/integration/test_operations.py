"""Operations: readiness, request ids and JSON logs, backup and restore, copying SQLite to PostgreSQL."""

import io
import json
import logging
import threading

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import Report, ReportEvent, User
from app.ops.logs import JsonFormatter, RequestIdFilter
from app.storage import photo_store
from app.storage.s3 import S3Store
from tests.conftest import need
from tests.factories import api_token, bearer, file_report, jpeg, make_user
from tests.servers import PostgresDatabase, free_port, s3_bucket


def test_readyz_answers_ok_when_database_and_store_answer(client):
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok", "checks": {"database": "ok", "photo_store": "ok"}}


def test_readyz_is_503_naming_the_unreachable_photo_store(app, client):
    app.extensions["photo_store"] = S3Store(
        "photos",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region="us-east-1",
        access_key_id="x",
        secret_access_key="x",
    )
    r = client.get("/readyz")
    body = r.get_json()
    assert r.status_code == 503 and r.headers["Retry-After"]
    assert body["checks"]["database"] == "ok" and body["checks"]["photo_store"].startswith("unreachable")
    assert any(reason.startswith("photo_store") for reason in body["reasons"])


def test_readyz_is_503_naming_the_unreachable_database(tmp_path):
    broken = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "UPLOAD_DIR": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://nobody:x@127.0.0.1:{free_port()}/none",
        }
    )
    r = broken.test_client().get("/readyz")
    assert r.status_code == 503
    assert r.get_json()["checks"]["database"].startswith("unreachable")
    assert r.get_json()["checks"]["photo_store"] == "ok"


def test_request_id_is_taken_from_the_caller_or_made_and_always_returned(client):
    assert client.get("/healthz", headers={"X-Request-ID": "lb-1234"}).headers["X-Request-ID"] == "lb-1234"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id; with spaces"}).headers["X-Request-ID"]
    assert made != "bad id; with spaces" and len(made) == 32
    assert client.get("/healthz").headers["X-Request-ID"] != client.get("/healthz").headers["X-Request-ID"]


def test_every_log_line_of_a_request_is_json_with_its_request_id(app, client):
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    # Only this request's lines: a server thread elsewhere in the process may log its own requests meanwhile.
    this_thread = threading.get_ident()
    handler.addFilter(lambda record: record.thread == this_thread)
    loggers = [logging.getLogger("gridsnap.access"), app.logger]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    app.extensions["photo_store"] = S3Store(
        "photos",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region="us-east-1",
        access_key_id="x",
        secret_access_key="x",
    )
    rider = make_user("rider1")
    try:
        client.post(
            "/api/v1/reports",
            headers={**bearer(api_token(rider)), "X-Request-ID": "req-42"},
            data={"category": "noise", "lat": "29.2", "lon": "103.9", "photos": [(io.BytesIO(jpeg()), "a.jpg")]},
        ).close()  # the server closes it: access line
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {line["logger"] for line in lines} >= {"gridsnap.access", app.logger.name}  # the warning and the access line
    assert all(line["request_id"] == "req-42" for line in lines)
    access = next(line for line in lines if line["logger"] == "gridsnap.access")
    assert access["status"] == 503 and access["method"] == "POST" and access["path"] == "/api/v1/reports"


@pytest.fixture
def empty_machine(app, tmp_path, pg_url, request):
    """Another machine's configuration: a new empty database and an empty photo store."""
    config = {"TESTING": True, "SECRET_KEY": "test", "UPLOAD_DIR": str(tmp_path / "new-uploads")}
    database = None
    if db.engine.dialect.name == "sqlite":
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'new.db'}"
    else:
        database = PostgresDatabase(pg_url, prefix="gs_restore").create()
        config["SQLALCHEMY_DATABASE_URI"] = database.url
    if app.config["STORAGE_BACKEND"] == "s3":
        config.update(s3_bucket(request.getfixturevalue("s3_server")))
    (tmp_path / "new-uploads").mkdir()
    yield config
    if database is not None:
        database.drop()


def test_backup_restored_onto_an_empty_machine_brings_back_every_report_and_photo(app, runner, tmp_path, empty_machine):
    rider = make_user("rider1")
    filed = [
        file_report(rider, description=f"report {i}", photos=[jpeg(colour=(i * 40, 90, 30))] * (1 + i % 2))
        for i in range(3)
    ]
    expected = {
        r.reference: (r.description, [(photo_store().get(p.key), photo_store().get(p.thumb_key)) for p in r.photos])
        for r in filed
    }
    made = runner.invoke(args=["backup", "create", "--output", str(tmp_path / "backups")])
    assert made.exit_code == 0, made.output
    folder = made.output.strip().splitlines()[-1]
    manifest = json.load(open(f"{folder}/manifest.json"))
    assert len(manifest["photos"]) == 2 * sum(len(r.photos) for r in filed) == 8 and all(
        len(p["sha256"]) == 64 for p in manifest["photos"]
    )

    fresh = create_app(empty_machine)
    with fresh.app_context():
        restored = fresh.test_cli_runner().invoke(args=["backup", "restore", folder])
        assert restored.exit_code == 0, restored.output
        got = {r.reference: r for r in db.session.scalars(select(Report))}
        assert set(got) == set(expected)
        store = photo_store()
        for reference, (description, photos) in expected.items():
            assert got[reference].description == description
            assert [(store.get(p.key), store.get(p.thumb_key)) for p in got[reference].photos] == photos
        again = fresh.test_cli_runner().invoke(args=["backup", "restore", folder])
        assert again.exit_code != 0 and "not empty" in again.output
        db.session.remove()
        db.engine.dispose()


def _kept_by_triggers() -> dict[str, set]:
    """The rows of the count tables kept by triggers (what the board's tabs and the summary read)."""
    return {
        t.name: {tuple(r) for r in db.session.execute(select(t)) if r.n}
        for t in db.metadata.sorted_tables
        if t.info.get("kept_by_triggers")
    }


def test_db_copy_moves_every_row_from_sqlite_to_postgresql_and_new_rows_follow(app, runner, pg_url, tmp_path):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the copy starts from SQLite")
    need(pg_url is not None, "PostgreSQL not configured: set TEST_DATABASE_URL")
    rider = make_user("rider1")
    first, second = file_report(rider), file_report(rider, category="noise")
    first.duplicate_of_id = second.id  # a reference to a later row of the same table
    db.session.commit()
    second.status = "accepted"  # the counts kept by triggers see a move too
    db.session.commit()
    before = {
        t.name: db.session.scalar(select(func.count()).select_from(t))
        for t in db.metadata.sorted_tables
        if not t.info.get("kept_by_triggers")
    }
    kept = _kept_by_triggers()
    # Read what the checks need now: touching these rows inside the other app's context would load them
    # through its engine and leave a connection open on the database dropped below.
    rider_id, first_ref, second_ref, second_id = rider.id, first.reference, second.reference, second.id
    first_photo_id = first.photos[0].id
    db.session.remove()

    copy = PostgresDatabase(pg_url, prefix="gs_copy").create()
    target = copy.url
    try:
        result = runner.invoke(args=["db", "copy", "--to", target])
        assert result.exit_code == 0, result.output
        moved = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "t",
                "SQLALCHEMY_DATABASE_URI": target,
                "UPLOAD_DIR": app.config["UPLOAD_DIR"],
            }
        )
        with moved.app_context():
            after = {
                t.name: db.session.scalar(select(func.count()).select_from(t))
                for t in db.metadata.sorted_tables
                if not t.info.get("kept_by_triggers")
            }
            assert after == before
            assert _kept_by_triggers() == kept  # made by the target's triggers, not copied on top of them
            copied = db.session.scalar(select(Report).where(Report.reference == first_ref))
            assert copied.duplicate_of.reference == second_ref and len(copied.photos) == 1
            newer = file_report(db.session.get(User, rider_id))  # sequences continue past the copied ids
            assert newer.id == second_id + 1
            assert db.session.scalar(select(func.max(ReportEvent.id))) > 0 and newer.photos[0].id > first_photo_id
            refused = moved.test_cli_runner().invoke(args=["db", "copy", "--to", target])
            assert refused.exit_code != 0 and "not empty" in refused.output
            db.session.remove()
            db.engine.dispose()
    finally:
        copy.drop()


def test_db_seed_fills_in_missing_categories_keeps_edited_ones_and_adds_no_accounts(app, runner):
    from app.models import Category, User

    categories = db.session.scalars(select(Category).order_by(Category.id)).all()
    kept, dropped = categories[0], categories[-1]
    kept.name_en = "Renamed by an admin"
    db.session.delete(dropped)
    db.session.commit()
    result = runner.invoke(args=["db", "seed"])
    assert result.exit_code == 0, result.output
    codes = set(db.session.scalars(select(Category.code)))
    assert dropped.code in codes and len(codes) == len(categories)
    assert db.session.get(Category, kept.id).name_en == "Renamed by an admin"
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
