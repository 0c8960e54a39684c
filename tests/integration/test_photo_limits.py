"""Pictures decoded whole (PNG, WebP, HEIC, progressive JPEG) are capped from their header on every upload path,
and a worker's memory stays bounded under the review's attack: small PNG files of huge pictures."""

import io
import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Photo, Report, ReportEvent
from tests import factories as f

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MEMORY_BUDGET_MB = 300

# The review's files (7000 x 7000 RGBA, 7070 x 7070 16-bit grey) and the largest ones accepted (24 MP).
PICTURES = {
    "rgba_49mp.png": (7000, 7000, "RGBA"),
    "grey16_50mp.png": (7070, 7070, "I;16"),
    "rgba_24mp.png": (4898, 4898, "RGBA"),
    "grey16_24mp.png": (4898, 4898, "I;16"),
}
# The memory test's requests in order, with their answers: the review's attack, refused from the headers, then
# the largest pictures of each kind that are decoded whole, accepted.
REFUSED, FILED = [400, "image_too_large"], [201, None]
REQUESTS = {
    "rgba_49mp.png x 4": (["rgba_49mp.png"] * 4, REFUSED),
    "grey16_50mp.png": (["grey16_50mp.png"], REFUSED),
    "rgba_24mp.png x 4": (["rgba_24mp.png"] * 4, FILED),
    "grey16_24mp.png": (["grey16_24mp.png"], FILED),
    "heic_24mp.heic": (["heic_24mp.heic"], FILED),
    "webp_6mp.webp x 4": (["webp_6mp.webp"] * 4, FILED),
}
TOO_LARGE = "The photo is too large to process (at most 24 megapixels for this kind of photo)."


@pytest.fixture(scope="session")
def pictures(tmp_path_factory) -> dict[str, str]:
    """The PNG files (about 1 MB each) and the largest WebP accepted (6 MP), written once per session,
    and the largest HEIC accepted (24 MP, tests/fixtures/large)."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("big-pictures")
    paths = {name: str(folder / name) for name in [*PICTURES, "webp_6mp.webp"]}
    for name, (width, height, mode) in PICTURES.items():
        with open(paths[name], "wb") as fh:
            fh.write(f.png(width, height, mode))
    Image.new("RGB", (2449, 2449), (20, 30, 40)).save(paths["webp_6mp.webp"], lossless=True, method=0)
    paths["heic_24mp.heic"] = os.path.join(ROOT, "tests", "fixtures", "large", "gradient_4898x4898.heic")
    return paths


def read(pictures, name) -> bytes:
    with open(pictures[name], "rb") as fh:
        return fh.read()


@pytest.fixture
def rider(app):
    return f.make_user("rider1", token=True)


def nothing_written(stored_before):
    assert db.session.scalar(select(func.count()).select_from(Report)) == 0
    assert db.session.scalar(select(func.count()).select_from(Photo)) == 0
    assert f.stored_keys() == stored_before


def test_api_refuses_a_huge_png_among_good_photos_and_writes_nothing(client, rider, pictures):
    _user, headers = rider
    before = f.stored_keys()
    photos = [(io.BytesIO(f.jpeg()), "a.jpg"), (io.BytesIO(read(pictures, "rgba_49mp.png")), "b.png")]
    r = client.post(
        "/api/v1/reports",
        headers=headers,
        content_type="multipart/form-data",
        data={"category": "illegal_parking", "lat": str(f.QIANWEI[0]), "lon": str(f.QIANWEI[1]), "photos": photos},
    )
    assert r.status_code == 400, r.get_data(as_text=True)
    assert r.get_json()["error"]["code"] == "image_too_large"
    assert r.get_json()["error"]["message"].startswith(TOO_LARGE)
    nothing_written(before)


@pytest.mark.parametrize(
    "lang, message",
    [("en", TOO_LARGE), ("zh-CN", "照片太大，无法处理（此类照片最多 24 百万像素）")],
    ids=["en", "zh-CN"],
)
def test_the_plain_form_refuses_a_16_bit_png_bomb_in_the_riders_language(app, client, pictures, lang, message):
    f.log_in(client, f.make_user("rider1"))
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = lang
    before = f.stored_keys()
    token = f.csrf_from(client.get("/report").get_data(as_text=True))
    r = client.post(
        "/report",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "category": "road_damage",
            "lat": str(f.QIANWEI[0]),
            "lon": str(f.QIANWEI[1]),
            "photos": [(io.BytesIO(read(pictures, "grey16_50mp.png")), "bomb.png")],
        },
    )
    assert r.status_code == 400
    assert message in r.get_data(as_text=True)
    nothing_written(before)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_open311_refuses_a_huge_png_as_media(client, rider, pictures, fmt):
    from app.auth.services import create_token

    user, _headers = rider
    _t, key = create_token(user, "open311")
    db.session.commit()
    before = f.stored_keys()
    r = client.post(
        f"/open311/v2/requests.{fmt}",
        content_type="multipart/form-data",
        data={
            "api_key": key,
            "service_code": "garbage",
            "lat": "29.21",
            "long": "103.95",
            "media": (io.BytesIO(read(pictures, "rgba_49mp.png")), "photo.png"),
        },
    )
    assert r.status_code == 400
    assert TOO_LARGE in r.get_data(as_text=True)
    nothing_written(before)


def test_adding_photos_to_a_report_refuses_a_huge_png_and_writes_nothing(client, rider, pictures):
    user, headers = rider
    report = f.file_report(user)
    before = (f.stored_keys(), db.session.scalar(select(func.count()).select_from(ReportEvent)))
    r = client.post(
        f"/api/v1/reports/{report.id}/photos",
        headers=headers,
        content_type="multipart/form-data",
        data={
            "comment": "still there",
            "photos": [(io.BytesIO(f.jpeg()), "a.jpg"), (io.BytesIO(read(pictures, "grey16_50mp.png")), "b.png")],
        },
    )
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "image_too_large"
    db.session.expire_all()
    assert len(db.session.get(Report, report.id).photos) == 1
    assert (f.stored_keys(), db.session.scalar(select(func.count()).select_from(ReportEvent))) == before


def test_every_header_is_checked_before_any_photo_is_decoded(app, pictures, monkeypatch):
    from PIL import ImageFile

    from app.errors import PhotoRejected
    from app.reports.services import process_uploads

    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda im: decoded.append(im.format))
    with pytest.raises(PhotoRejected) as caught:
        process_uploads([f.jpeg(3000, 2000), read(pictures, "rgba_24mp.png"), read(pictures, "rgba_49mp.png")], 4)
    assert caught.value.code == "image_too_large" and decoded == []


def test_the_limit_comes_from_the_environment_and_the_app_follows_it(app, client, rider, monkeypatch, tmp_path):
    from app.config import from_environment

    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("GRIDSNAP_MAX_DECODE_MP", "12.5")
    assert from_environment(str(tmp_path))["MAX_DECODE_PIXELS"] == 12_500_000
    monkeypatch.delenv("GRIDSNAP_MAX_DECODE_MP")
    assert from_environment(str(tmp_path))["MAX_DECODE_PIXELS"] == 24_000_000

    _user, headers = rider
    app.config["MAX_DECODE_PIXELS"] = 1_000_000

    def post(width, height):
        return client.post(
            "/api/v1/reports",
            headers=headers,
            content_type="multipart/form-data",
            data={
                "category": "noise",
                "lat": str(f.QIANWEI[0]),
                "lon": str(f.QIANWEI[1]),
                "photos": [(io.BytesIO(f.png(width, height)), "p.png")],
            },
        )

    r = post(1001, 1000)
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "image_too_large"
    assert "at most 1 megapixels" in r.get_json()["error"]["message"]
    assert post(1000, 1000).status_code == 201


# The worker's memory ---------------------------------------------------------------------------------------


def memory_probe(folder: str) -> None:
    """In a fresh process: start the app, warm it up, then post the attack and the largest accepted pictures
    through the API, and print each answer and the peak resident memory (KB) before and after as JSON."""
    import resource

    from app import create_app
    from app.catalog import seed_reference_data

    def peak_kb() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/probe.db",
            "UPLOAD_DIR": f"{folder}/uploads",
            "SECRET_KEY": "probe",
            "RATELIMIT_ENABLED": False,
            "GEOCODER": "",
        }
    )
    with app.app_context():
        db.create_all()
        seed_reference_data()
        _user, headers = f.make_user("rider1", token=True)
        db.session.commit()
    client = app.test_client()

    def post(*names: str):
        photos = [(io.BytesIO(f.jpeg() if n == "photo.jpg" else read(files, n)), n) for n in names]
        r = client.post(
            "/api/v1/reports",
            headers=headers,
            content_type="multipart/form-data",
            data={"category": "illegal_parking", "lat": str(f.QIANWEI[0]), "lon": str(f.QIANWEI[1]), "photos": photos},
        )
        body = r.get_json()
        return [r.status_code, body["error"]["code"] if r.status_code >= 400 else None]

    with open(os.path.join(folder, "small.png"), "wb") as fh:
        fh.write(f.png(2000, 1500))
    files = {n: os.path.join(folder, n) for n in os.listdir(folder)}
    warm = post("small.png", "photo.jpg")
    idle = peak_kb()
    answers, peaks = {}, {}
    for what, (names, _answer) in REQUESTS.items():
        answers[what] = post(*names)
        peaks[what] = peak_kb()
    print(json.dumps({"warm": warm, "answers": answers, "idle_kb": idle, "peak_kb": peaks}))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss is in KB on Linux")
def test_a_worker_stays_within_its_memory_budget_under_the_attack(pictures, tmp_path):
    for name, path in pictures.items():
        os.symlink(path, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDSNAP_", "DATABASE_URL"))}
    env["PYTHONPATH"] = ROOT
    code = f"from tests.integration.test_photo_limits import memory_probe; memory_probe({str(tmp_path)!r})"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["warm"] == [201, None]
    assert result["answers"] == {what: answer for what, (_names, answer) in REQUESTS.items()}
    growth_mb = {what: round((kb - result["idle_kb"]) / 1024) for what, kb in result["peak_kb"].items()}
    assert max(growth_mb.values()) <= MEMORY_BUDGET_MB, f"peak MB above the idle worker after each: {growth_mb}"
