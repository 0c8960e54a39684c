"""Two app servers (two gunicorn instances) sharing one PostgreSQL, one S3 store and one Redis."""

import io
import json
import os

import pytest
import requests
from PIL import Image

from app.extensions import db
from app.storage import photo_store
from tests.conftest import need
from tests.factories import jpeg, make_user
from tests.servers import (
    Gunicorn,
    PostgresDatabase,
    RedisServer,
    post_report_to,
    prepare_database,
    s3_bucket,
    site_app,
    site_env,
    stop_all,
    wait_for,
)

pytestmark = pytest.mark.servers
LOGIN_LIMIT = 3


@pytest.fixture(scope="module")
def site(pg_url, s3_server, tmp_path_factory):
    """Servers a and b behind an imaginary load balancer, with a rider's and a coordinator's tokens."""
    need(pg_url is not None, "PostgreSQL not configured: set TEST_DATABASE_URL")
    need(s3_server is not None, "moto[server] not installed: pip install 'moto[server]'")
    need(Gunicorn.available(), "gunicorn not installed")
    need(
        RedisServer.available() or bool(os.environ.get("TEST_REDIS_URL")),
        "Redis not available: set TEST_REDIS_URL or install redis-server",
    )
    folder = tmp_path_factory.mktemp("two-servers")
    redis = RedisServer().start() if RedisServer.available() else None  # a private one: limits start at zero
    database = PostgresDatabase(pg_url).create()
    servers = []
    try:
        env = site_env(
            database.url,
            str(folder),
            storage=s3_bucket(s3_server),
            redis_url=redis.url if redis else os.environ["TEST_REDIS_URL"],
            GRIDSNAP_LOGIN_RATE_LIMIT=f"{LOGIN_LIMIT} per minute",
        )
        prepare_database(env)
        servers = [Gunicorn(env, log_path=str(folder / f"server-{name}.log")).launch() for name in "ab"]
        for server in servers:
            server.wait_ready()
        app = site_app(env)
        with app.app_context():
            _rider, rider = make_user("rider1", token=True)
            _coordinator, coordinator = make_user("coord1", role="coordinator", token=True)
            db.session.commit()
            yield {
                "a": servers[0].url,
                "b": servers[1].url,
                "rider": rider,
                "coordinator": coordinator,
                "uploads": env["GRIDSNAP_UPLOAD_DIR"],
                "servers": servers,
            }
            db.session.remove()
            db.engine.dispose()
    finally:
        stop_all(servers)
        database.drop()
        if redis:
            redis.stop()


def test_a_report_filed_through_one_server_is_read_photos_included_through_the_other(site):
    a, b, rider = site["a"], site["b"], site["rider"]
    store = photo_store()
    before = {o.key for o in store.list()}
    filed = post_report_to(
        a,
        {**rider, "Idempotency-Key": "ride-7"},
        [jpeg(colour=(200, 30, 30)), jpeg(colour=(30, 30, 200))],
        description="blocked fire lane",
    )
    assert filed.status_code == 201, filed.text
    report = filed.json()

    read = requests.get(f"{b}/api/v1/reports/{report['id']}", headers=rider, timeout=10)
    assert read.status_code == 200 and read.json() == report
    assert len(report["photos"]) == 2
    for photo in report["photos"]:
        via_b = requests.get(b + photo["url"], headers=rider, timeout=10)
        via_a = requests.get(a + photo["url"], headers=rider, timeout=10)
        assert via_b.status_code == 200 and via_b.headers["Content-Type"] == "image/jpeg"
        assert via_b.content == via_a.content
        assert Image.open(io.BytesIO(via_b.content)).size == (photo["width"], photo["height"])
        assert requests.get(b + photo["thumb_url"], headers=rider, timeout=10).status_code == 200
    keys = {o.key for o in store.list()}
    assert len(keys - before) == 4  # display and thumbnail of each photo, all in the shared bucket
    assert not any(files for _dir, _sub, files in os.walk(site["uploads"]))  # nothing on a server's disk

    again = post_report_to(b, {**rider, "Idempotency-Key": "ride-7"}, [jpeg()])  # the phone retried through b
    assert again.status_code == 200 and again.json()["id"] == report["id"]
    assert {o.key for o in store.list()} == keys


def test_a_login_rate_limit_reached_on_one_server_holds_on_the_other(site):
    a, b = site["a"], site["b"]
    browser = requests.Session()
    page = browser.get(a + "/login", timeout=10)
    token = page.text.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    wrong = {"username": "rider1", "password": "not-the-password", "csrf_token": token}
    # Alternate servers: the session (and its CSRF token) made by a is valid on b, and every try counts.
    tries = [browser.post((a, b)[i % 2] + "/login/password", data=wrong, timeout=10) for i in range(LOGIN_LIMIT)]
    # 400 with the login form again: the password was judged (a CSRF failure would show the error page).
    assert [(r.status_code, 'name="password"' in r.text) for r in tries] == [(400, True)] * LOGIN_LIMIT
    for server in (b, a):
        refused = browser.post(server + "/login/password", data=wrong, timeout=10)
        assert refused.status_code == 429 and refused.headers["Retry-After"]


def test_a_triage_move_on_one_server_is_seen_on_the_other(site):
    a, b, rider, coordinator = site["a"], site["b"], site["rider"], site["coordinator"]
    report = post_report_to(a, rider, [jpeg()]).json()
    moved = requests.post(
        f"{a}/api/v1/reports/{report['id']}/transitions",
        headers=coordinator,
        json={"to": "accepted", "version": report["version"]},
        timeout=10,
    )
    assert moved.status_code == 200 and moved.json()["status"] == "accepted"

    seen = requests.get(f"{b}/api/v1/reports/{report['id']}", headers=rider, timeout=10).json()
    assert seen["status"] == "accepted" and seen["version"] == report["version"] + 1
    events = requests.get(f"{b}/api/v1/reports/{report['id']}/events", headers=coordinator, timeout=10).json()
    assert [(e["from"], e["to"]) for e in events["events"] if e["kind"] == "transition"] == [("submitted", "accepted")]
    board = requests.get(f"{b}/api/v1/reports", headers=coordinator, params={"status": "accepted"}, timeout=10)
    assert report["id"] in [item["id"] for item in board.json()["items"]]

    stale = requests.post(
        f"{b}/api/v1/reports/{report['id']}/transitions",
        headers=coordinator,
        json={"to": "rejected", "note": "seen twice", "version": report["version"]},
        timeout=10,
    )
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_version"


def test_a_grid_drawn_while_the_servers_run_is_used_by_both(site):
    from app.grids.services import import_grids

    a, b, rider = site["a"], site["b"], site["rider"]
    assert [post_report_to(s, rider, [jpeg()]).json()["grid"] for s in (a, b)] == [None, None]  # both index caches warm
    lon, lat = 103.9512, 29.2089
    square = [
        [lon - 0.01, lat - 0.01],
        [lon + 0.01, lat - 0.01],
        [lon + 0.01, lat + 0.01],
        [lon - 0.01, lat + 0.01],
        [lon - 0.01, lat - 0.01],
    ]
    import_grids(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"code": "QW-01", "name": "Qianwei centre"},
                        "geometry": {"type": "Polygon", "coordinates": [square]},
                    }
                ],
            }
        )
    )
    db.session.commit()
    assert [post_report_to(s, rider, [jpeg()]).json()["grid"]["code"] for s in (b, a)] == ["QW-01", "QW-01"]


def test_every_log_line_of_both_servers_is_json_and_requests_carry_their_id(site):
    a, b, rider = site["a"], site["b"], site["rider"]
    for server, rid in ((a, "lb-a-1"), (b, "lb-b-1")):
        r = requests.get(f"{server}/api/v1/reports", headers={**rider, "X-Request-ID": rid}, timeout=10)
        assert r.status_code == 200 and r.headers["X-Request-ID"] == rid
    for server, rid in zip(site["servers"], ("lb-a-1", "lb-b-1"), strict=False):

        def logged(server=server, rid=rid):  # the access line is written once the response has gone out
            return any(
                r["request_id"] == rid and r["path"] == "/api/v1/reports" and r["status"] == 200
                for r in server.log_records()
                if r["logger"] == "gridsnap.access"
            )

        wait_for(logged, timeout=10, what="the access line")
        with open(server.log_path) as fh:
            assert all(line.startswith("{") for line in fh if line.strip())  # nothing but JSON lines
        access = [r for r in server.log_records() if r["logger"] == "gridsnap.access"]
        assert len(access) > 2 and all(r["request_id"] for r in access)
