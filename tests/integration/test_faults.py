"""Faults under gunicorn: workers killed mid-upload, the database and the object store going away."""

import contextlib
import os
import signal
import sqlite3
import threading

import pytest
import requests
from sqlalchemy import create_engine, func, select, text

from app.extensions import db
from app.models import Report
from app.ops.storage_admin import referenced_keys
from tests.conftest import need
from tests.factories import jpeg, make_user, stored_keys
from tests.servers import (
    Gunicorn,
    PostgresDatabase,
    TcpProxy,
    post_report_to,
    prepare_database,
    s3_bucket,
    site_app,
    site_env,
    wait_for,
)

pytestmark = pytest.mark.servers


class Site:
    """One gunicorn server, an in-process app on the same database and store, and a rider's token."""

    def __init__(self, server: Gunicorn, direct: dict, db_proxy=None, s3_proxy=None):
        self.server, self.url, self.db_proxy, self.s3_proxy = server, server.url, db_proxy, s3_proxy
        self.database_url = direct["DATABASE_URL"]
        self.app = site_app(direct)  # reaches the database and store directly, not through the proxies
        with self.app.app_context():
            self.rider = make_user("rider1", token=True)[1]
            db.session.commit()
            db.session.remove()

    @contextlib.contextmanager
    def block_report_inserts(self):
        """Hold a lock that makes every new report wait in its INSERT, after its photos are stored."""
        if self.database_url.startswith("sqlite"):
            conn = sqlite3.connect(self.database_url.split("///", 1)[1], isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")  # the write lock: writers wait in their busy timeout
            try:
                yield
            finally:
                conn.execute("ROLLBACK")
                conn.close()
        else:
            engine = create_engine(self.database_url)
            try:
                with engine.connect() as conn:
                    conn.execute(text("LOCK TABLE report IN SHARE MODE"))  # reads go on, inserts wait
                    yield
                    conn.rollback()
            finally:
                engine.dispose()

    def counts(self) -> tuple[int, list[str]]:
        """Reports in the database and every key in the store."""
        with self.app.app_context():
            try:
                return db.session.scalar(select(func.count()).select_from(Report)), stored_keys()
            finally:
                db.session.remove()

    def wait_ready(self) -> None:
        wait_for(lambda: requests.get(self.url + "/readyz", timeout=5).status_code == 200, timeout=30, what="readiness")


def _file(base, headers, photos=2, timeout=30):
    return post_report_to(base, headers, [jpeg(colour=(40 * i, 120, 60)) for i in range(photos)], timeout=timeout)


def _in_background(call):
    """Run call() in a thread; the returned list receives its response or the exception it raised."""
    out = []

    def run():
        try:
            out.append(call())
        except Exception as err:
            out.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


@pytest.fixture(scope="module")
def cut_site(pg_url, s3_server, tmp_path_factory):
    """PostgreSQL and S3 reached through TCP proxies the tests can cut, as a network outage would."""
    need(pg_url is not None, "PostgreSQL not configured: set TEST_DATABASE_URL")
    need(s3_server is not None, "moto[server] not installed: pip install 'moto[server]'")
    need(Gunicorn.available(), "gunicorn not installed")
    folder = tmp_path_factory.mktemp("cut-site")
    database = PostgresDatabase(pg_url, prefix="gs_fault").create()
    db_proxy, s3_proxy = TcpProxy(database.port).start(), TcpProxy(s3_server.port).start()
    server = None
    try:
        storage = s3_bucket(s3_server)
        direct = site_env(database.url, str(folder), storage=storage)
        env = site_env(
            database.url_via(db_proxy.port),
            str(folder),
            storage={**storage, "STORAGE_ENDPOINT_URL": f"http://127.0.0.1:{s3_proxy.port}"},
        )
        prepare_database(direct)
        server = Gunicorn(env, log_path=str(folder / "server.log")).start()
        yield Site(server, direct, db_proxy=db_proxy, s3_proxy=s3_proxy)
    finally:
        if server:
            server.stop()
        db_proxy.stop()
        s3_proxy.stop()
        database.drop()


@pytest.fixture
def sqlite_site(tmp_path):
    need(Gunicorn.available(), "gunicorn not installed")
    env = site_env(f"sqlite:///{tmp_path / 'gridsnap.db'}", str(tmp_path))
    prepare_database(env)
    server = Gunicorn(env, log_path=str(tmp_path / "server.log")).start()
    try:
        yield Site(server, env)
    finally:
        server.stop()


@pytest.mark.parametrize("kind", ["sqlite-local", "postgresql-s3"])
def test_workers_killed_mid_upload_leave_no_half_report_and_storage_check_removes_their_photos(kind, request):
    site = request.getfixturevalue("sqlite_site" if kind == "sqlite-local" else "cut_site")
    acknowledged = [_file(site.url, site.rider) for _ in range(2)]
    assert [r.status_code for r in acknowledged] == [201, 201]
    reports_before, keys_before = site.counts()

    with site.block_report_inserts():
        uploads = [_in_background(lambda: _file(site.url, site.rider)) for _ in range(2)]
        # Both uploads are in the middle: their photos are in the store, their rows not yet written.
        wait_for(
            lambda: len(site.counts()[1]) == len(keys_before) + 2 * 2 * 2,
            timeout=30,
            what="the photos of both uploads in the store",
        )
        victims = set(site.server.worker_pids())
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
    for thread, _out in uploads:
        thread.join(30)
    outcomes = [out[0] for _thread, out in uploads]
    assert all(isinstance(o, requests.ConnectionError) for o in outcomes), outcomes  # never acknowledged
    wait_for(lambda: site.server.worker_pids() and not victims & set(site.server.worker_pids()), what="new workers")
    site.wait_ready()

    reports_after, keys_after = site.counts()
    assert reports_after == reports_before  # no half report
    with site.app.app_context():
        for response in acknowledged:
            report = db.session.get(Report, response.json()["id"])
            assert len(report.photos) == 2
        assert set(referenced_keys()) == set(keys_before)  # every acknowledged photo is there
        runner = site.app.test_cli_runner()
        young = runner.invoke(args=["storage", "check"])  # the killed uploads' files are under an hour old
        assert young.exit_code == 0, young.output
        assert "orphans older than 3600 s: 0" in young.output and "recent unreferenced (left alone): 8" in young.output
        fixed = runner.invoke(args=["storage", "check", "--older-than", "0", "--fix"])
        assert "orphans older than 0 s: 8 (removed 8)" in fixed.output and "missing files: 0" in fixed.output
        assert stored_keys() == sorted(keys_before)
        db.session.remove()
    assert _file(site.url, site.rider).status_code == 201  # and the site goes on


def test_database_outage_gives_503_with_retry_after_never_500_and_the_site_recovers_by_itself(cut_site):
    site = cut_site
    assert _file(site.url, site.rider).status_code == 201
    reports_before, keys_before = site.counts()
    site.db_proxy.stop()
    try:
        answers = []
        for _ in range(3):  # enough tries to reach both workers
            answers += [
                requests.get(site.url + "/api/v1/reports", headers=site.rider, timeout=15),
                _file(site.url, site.rider),
                requests.get(site.url + "/readyz", timeout=15),
                # a Bearer token counts only on the APIs (a page would redirect to the login page)
                requests.get(site.url + "/api/v1/notifications", headers=site.rider, timeout=15),
            ]
    finally:
        site.db_proxy.start()
    assert [r.status_code for r in answers] == [503] * len(answers)
    assert all(r.headers.get("Retry-After") for r in answers)
    assert answers[0].json()["error"]["code"] == "unavailable"
    assert answers[2].json()["checks"]["database"].startswith("unreachable")

    site.wait_ready()
    assert [
        requests.get(site.url + "/api/v1/reports", headers=site.rider, timeout=15).status_code for _ in range(4)
    ] == [200] * 4
    assert _file(site.url, site.rider).status_code == 201
    reports_after, keys_after = site.counts()
    assert (
        reports_after == reports_before + 1 and len(keys_after) == len(keys_before) + 4
    )  # the failed ones left nothing


def test_database_lost_in_the_middle_of_an_upload_gives_503_and_leaves_no_photo(cut_site):
    site = cut_site
    reports_before, keys_before = site.counts()
    try:
        with site.block_report_inserts():
            thread, out = _in_background(lambda: _file(site.url, site.rider))
            wait_for(lambda: len(site.counts()[1]) == len(keys_before) + 4, timeout=30, what="the upload's photos")
            site.db_proxy.stop()  # the connection drops while the INSERT waits
            thread.join(30)
    finally:
        site.db_proxy.start()
    assert out[0].status_code == 503 and out[0].headers["Retry-After"]
    site.wait_ready()
    assert site.counts() == (reports_before, keys_before)


def test_object_store_outage_gives_a_clear_503_and_writes_nothing(cut_site):
    site = cut_site
    filed = _file(site.url, site.rider, photos=1)
    assert filed.status_code == 201
    photo_url = filed.json()["photos"][0]["url"]
    reports_before, keys_before = site.counts()
    site.s3_proxy.stop()
    try:
        refused = _file(site.url, site.rider)
        photo = requests.get(site.url + photo_url, headers=site.rider, timeout=30)
        ready = requests.get(site.url + "/readyz", timeout=30)
    finally:
        site.s3_proxy.start()
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert refused.json()["error"]["code"] == "storage_unavailable"
    assert photo.status_code == 503 and ready.status_code == 503
    assert set(ready.json()["checks"]) == {"database", "photo_store"} and ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["photo_store"].startswith("unreachable")
    assert site.counts() == (reports_before, keys_before)
    site.wait_ready()
    assert _file(site.url, site.rider).status_code == 201


def test_rate_limits_hold_per_process_while_redis_is_unreachable_and_never_500(tmp_path):
    from app import create_app
    from tests.servers import free_port

    env = site_env(f"sqlite:///{tmp_path / 'gridsnap.db'}", str(tmp_path))
    prepare_database(env)
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
            "SECRET_KEY": "x",
            "UPLOAD_DIR": env["GRIDSNAP_UPLOAD_DIR"],
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{free_port()}/0",
            "LOGIN_RATE_LIMIT": "2 per minute",
        }
    )
    client = app.test_client()
    wrong = {"username": "nobody", "password": "not-the-password"}
    assert [client.post("/login/password", data=wrong).status_code for _ in range(3)] == [400, 400, 429]
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
