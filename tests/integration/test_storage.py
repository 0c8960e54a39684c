"""Photo storage backends: the local folder and S3 (moto), serving, outages, orphan checks, migration."""

import hashlib
import urllib.request

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Photo, Report
from app.storage import build_store, new_key, photo_store
from app.storage.s3 import S3Store
from tests.conftest import need
from tests.factories import api_token, file_report, jpeg, log_in, make_user
from tests.servers import free_port, s3_bucket


def _use_store(app, **config):
    app.config.update(config)
    app.extensions["photo_store"] = build_store(app.config)
    return app.extensions["photo_store"]


def test_store_keeps_reads_lists_and_deletes_a_photo(app):
    store, key = photo_store(), new_key()
    store.put(key, b"jpeg bytes")
    assert store.get(key) == b"jpeg bytes" and store.exists(key)
    assert store.stat(key).size == 10
    assert key in {o.key for o in store.list()}
    chunks, size = store.stream(key)
    assert b"".join(chunks) == b"jpeg bytes" and size == 10
    store.delete(key)
    assert not store.exists(key) and store.stat(key) is None
    with pytest.raises(FileNotFoundError):
        store.get(key)


def test_photo_is_served_to_its_owner_and_refused_to_another_rider(app, client):
    owner, _other = make_user("rider1"), make_user("rider2")
    photo = file_report(owner).photos[0]
    log_in(client, "rider1")
    r = client.get(f"/photos/{photo.id}/display.jpg")
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    assert r.get_data() == photo_store().get(photo.key)
    assert (
        client.get(f"/photos/{photo.id}/display.jpg", headers={"If-None-Match": r.headers["ETag"]}).status_code == 304
    )
    assert client.get(f"/photos/{photo.id}/thumb.jpg").get_data() == photo_store().get(photo.thumb_key)
    other = app.test_client()
    log_in(other, "rider2")
    assert other.get(f"/photos/{photo.id}/display.jpg").status_code == 403


def test_presigned_mode_redirects_to_a_short_lived_url_after_the_permission_check(app, client, s3_server):
    need(s3_server is not None, "moto[server] not installed")
    _use_store(app, **s3_bucket(s3_server), STORAGE_SERVE="presigned", STORAGE_URL_TTL=60)
    owner, _other = make_user("rider1"), make_user("rider2")
    photo = file_report(owner).photos[0]
    log_in(client, "rider1")
    r = client.get(f"/photos/{photo.id}/display.jpg")
    assert r.status_code == 302 and "X-Amz-Expires=60" in r.headers["Location"]
    with urllib.request.urlopen(r.headers["Location"], timeout=5) as fh:
        assert fh.read() == photo_store().get(photo.key)
    other = app.test_client()
    log_in(other, "rider2")
    refused = other.get(f"/photos/{photo.id}/display.jpg")
    assert refused.status_code == 403 and "Location" not in refused.headers


def test_s3_objects_are_private(app, s3_server):
    need(s3_server is not None, "moto[server] not installed")
    store = _use_store(app, **s3_bucket(s3_server))
    key = new_key()
    store.put(key, b"secret")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{s3_server.url}/{store.bucket}/{key}", timeout=5)
    assert err.value.code == 403


def test_filing_while_the_store_is_unreachable_gives_503_and_writes_nothing(app, client):
    rider = make_user("rider1")
    app.extensions["photo_store"] = S3Store(
        "photos",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        region="us-east-1",
        access_key_id="x",
        secret_access_key="x",
    )
    r = client.post(
        "/api/v1/reports",
        headers={"Authorization": f"Bearer {api_token(rider)}"},
        data={
            "category": "illegal_parking",
            "lat": "29.2",
            "lon": "103.9",
            "photos": [(__import__("io").BytesIO(jpeg()), "a.jpg")],
        },
    )
    assert r.status_code == 503
    assert r.get_json()["error"]["code"] == "storage_unavailable" and r.headers["Retry-After"]
    assert db.session.scalar(select(func.count()).select_from(Report)) == 0
    assert db.session.scalar(select(func.count()).select_from(Photo)) == 0


def test_a_store_failing_on_the_second_photo_leaves_no_file_and_no_report(app, client):
    rider, store = make_user("rider1"), photo_store()
    writes = []
    real_put = store.put

    def failing_put(key, data):  # the store dies after the first file of the second photo
        if len(writes) == 2:
            from app.errors import StorageUnavailable

            raise StorageUnavailable("gone")
        writes.append(key)
        real_put(key, data)

    store.put = failing_put
    try:
        r = client.post(
            "/api/v1/reports",
            headers={"Authorization": f"Bearer {api_token(rider)}"},
            data={
                "category": "noise",
                "lat": "29.2",
                "lon": "103.9",
                "photos": [(__import__("io").BytesIO(jpeg()), f"{i}.jpg") for i in range(2)],
            },
        )
    finally:
        del store.put
    assert r.status_code == 503
    assert writes and not any(store.exists(k) for k in writes)
    assert db.session.scalar(select(func.count()).select_from(Report)) == 0


def test_storage_check_reports_orphans_and_missing_files_and_fix_removes_only_old_orphans(app, runner):
    rider = make_user("rider1")
    kept, damaged = file_report(rider).photos[0], file_report(rider).photos[0]
    store = photo_store()
    orphan = new_key()
    store.put(orphan, b"left behind by a killed worker")
    store.delete(damaged.thumb_key)

    young = runner.invoke(args=["storage", "check"])
    assert "orphans older than 3600 s: 0" in young.output and "recent unreferenced (left alone): 1" in young.output
    assert "missing files: 1" in young.output and damaged.thumb_key in young.output and young.exit_code == 1

    fixed = runner.invoke(args=["storage", "check", "--older-than", "0", "--fix"])
    assert "orphans older than 0 s: 1 (removed 1)" in fixed.output and orphan in fixed.output
    assert not store.exists(orphan) and store.exists(kept.key) and store.exists(kept.thumb_key)


def test_storage_migrate_copies_local_photos_to_s3_and_a_rerun_copies_nothing(app, client, runner, s3_server):
    need(s3_server is not None, "moto[server] not installed")
    if app.config["STORAGE_BACKEND"] != "local":
        pytest.skip("the migration starts from the local folder")
    local = photo_store()
    rider = make_user("rider1")
    photos = [file_report(rider).photos[0] for _ in range(3)]
    app.config.update({k: v for k, v in s3_bucket(s3_server).items() if k != "STORAGE_BACKEND"})

    first = runner.invoke(args=["storage", "migrate", "--to", "s3"])
    assert first.exit_code == 0 and "copied 6, already there 0" in first.output
    again = runner.invoke(args=["storage", "migrate", "--to", "s3"])
    assert "copied 0, already there 6" in again.output

    late = file_report(rider).photos[0]  # filed on the local store after the first pass
    s3 = _use_store(app, STORAGE_BACKEND="s3", STORAGE_READ_FALLBACK=True)
    log_in(client, "rider1")
    assert client.get(f"/photos/{late.id}/display.jpg").get_data() == local.get(late.key)  # read through
    last = runner.invoke(args=["storage", "migrate", "--to", "s3"])
    assert "copied 2, already there 6" in last.output
    for p in photos + [late]:
        assert hashlib.sha256(s3.s3.get(p.key)).digest() == hashlib.sha256(local.get(p.key)).digest()
        assert client.get(f"/photos/{p.id}/display.jpg").get_data() == local.get(p.key)
