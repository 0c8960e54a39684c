"""Per-rider limits on filing: reports (form, API and Open311 share one budget), comments and added photos;
429 with Retry-After and a message in the rider's language; the outbox's resends are never counted."""

import io
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Report, ReportEvent
from tests import factories as f

API = "/api/v1/reports"


@pytest.fixture
def limits(app):
    """Small budgets, so a test reaches them in a few requests."""
    app.config["REPORT_RATE_LIMIT"] = "3 per hour;10 per day"
    app.config["COMMENT_RATE_LIMIT"] = "2 per hour"
    return app


def api_report(client, headers, key=None, **fields):
    data = {
        "category": "road_damage",
        "lat": str(f.QIANWEI[0]),
        "lon": str(f.QIANWEI[1]),
        "photos": (io.BytesIO(f.jpeg()), "photo.jpg"),
        **fields,
    }
    if key:
        headers = {**headers, "Idempotency-Key": key}
    return client.post(API, data=data, headers=headers, content_type="multipart/form-data")


def form_report(client, key=""):
    token = f.csrf_from(client.get("/report").get_data(as_text=True))
    return client.post(
        "/report",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "category": "road_damage",
            "lat": str(f.QIANWEI[0]),
            "lon": str(f.QIANWEI[1]),
            "idempotency_key": key,
            "photos": (io.BytesIO(f.jpeg()), "photo.jpg"),
        },
    )


def open311_report(client, api_key):
    return client.post(
        "/open311/v2/requests.json",
        data={"api_key": api_key, "service_code": "road_damage", "lat": str(f.QIANWEI[0]), "long": str(f.QIANWEI[1])},
    )


def reports_of(user) -> int:
    return db.session.scalar(select(func.count()).select_from(Report).where(Report.user_id == user.id))


def test_a_rider_past_the_report_limit_gets_429_with_retry_after_and_a_clear_message(limits, client):
    rider, headers = f.make_user("rider1", token=True)
    assert [api_report(client, headers).status_code for _ in range(3)] == [201, 201, 201]
    refused = api_report(client, headers)
    assert refused.status_code == 429
    assert 3000 < int(refused.headers["Retry-After"]) <= 3601  # the hour's window, not "a minute"
    error = refused.get_json()["error"]
    assert error["code"] == "rate_limited"
    assert re.fullmatch(
        r"You have filed many reports in a short time\. You can file again in (1 hour|60 minutes);"
        r" a report saved on your phone is sent by itself then\.",
        error["message"],
    )
    assert reports_of(rider) == 3


def test_the_message_is_in_the_riders_language(limits, client):
    _rider, headers = f.make_user("rider1", token=True)
    for _ in range(3):
        api_report(client, headers)
    refused = api_report(client, {**headers, "Accept-Language": "zh-CN"})
    assert refused.status_code == 429
    assert re.fullmatch(
        "您短时间内上报次数过多，(1小时|60分钟)后可以再次上报；保存在手机上的上报届时会自动发送。",
        refused.get_json()["error"]["message"],
    )


def test_the_form_the_api_and_open311_share_one_budget_per_rider(limits, client):
    rider = f.make_user("rider1")
    api_key = f.api_token(rider)
    f.log_in(client, "rider1")
    assert api_report(client, f.bearer(api_key)).status_code == 201
    assert form_report(client).status_code == 302
    assert open311_report(client, api_key).status_code == 200
    page = form_report(client)  # the plain form: a readable page
    assert page.status_code == 429 and page.mimetype == "text/html" and int(page.headers["Retry-After"]) > 3000
    assert "You have filed many reports in a short time" in page.get_data(as_text=True)
    assert api_report(client, f.bearer(api_key)).status_code == 429
    spec = open311_report(client, api_key)  # Open311's own error document
    assert spec.status_code == 429 and spec.get_json()[0]["code"] == 429
    assert "You have filed many reports" in spec.get_json()[0]["description"]
    assert reports_of(rider) == 3
    other, other_headers = f.make_user("rider2", token=True)  # every rider has their own budget
    assert api_report(client, other_headers).status_code == 201


def test_the_outbox_sending_a_report_again_is_never_counted(limits, client):
    """The same Idempotency-Key answers the first report (200), however often, even at the limit."""
    rider, headers = f.make_user("rider1", token=True)
    assert api_report(client, headers, key="gs-first").status_code == 201
    assert [api_report(client, headers, key="gs-first").status_code for _ in range(5)] == [200] * 5
    assert api_report(client, headers, key="gs-second").status_code == 201
    assert api_report(client, headers, key="gs-third").status_code == 201
    assert api_report(client, headers, key="gs-fourth").status_code == 429
    again = api_report(client, headers, key="gs-first")  # a resend whose answer was lost: still answered
    assert again.status_code == 200 and again.get_json()["reference"]
    assert reports_of(rider) == 3


def test_refused_reports_count_but_server_failures_do_not(limits, client, monkeypatch):
    rider, headers = f.make_user("rider1", token=True)
    assert api_report(client, headers, category="no_such_thing").status_code == 400  # an attempt: counts
    from app.errors import StorageUnavailable
    from app.reports import services

    def store_down(*_args, **_kw):
        raise StorageUnavailable("down")

    with monkeypatch.context() as m:
        m.setattr(services, "store_photos", store_down)
        assert [api_report(client, headers).status_code for _ in range(4)] == [503] * 4  # retried: not counted
    assert [api_report(client, headers).status_code for _ in range(3)] == [201, 201, 429]


def test_staff_and_handlers_are_not_limited(limits, client):
    for role in ("coordinator", "admin", "handler"):
        _user, headers = f.make_user(f"{role}1", role=role, token=True)
        assert [api_report(client, headers).status_code for _ in range(4)] == [201] * 4, role


def test_comments_and_added_photos_share_the_comment_limit(limits, client):
    rider, headers = f.make_user("rider1", token=True)
    report = f.file_report(rider)
    comment = client.post(f"{API}/{report.id}/comments", json={"note": "Still there this morning."}, headers=headers)
    assert comment.status_code == 201
    photo = client.post(
        f"{API}/{report.id}/photos",
        headers=headers,
        content_type="multipart/form-data",
        data={"photos": (io.BytesIO(f.jpeg()), "again.jpg")},
    )
    assert photo.status_code == 201
    refused = client.post(f"{API}/{report.id}/comments", json={"note": "And now?"}, headers=headers)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 3000
    assert "many comments and photos" in refused.get_json()["error"]["message"]
    assert (
        client.post(
            f"{API}/{report.id}/photos",
            headers=headers,
            content_type="multipart/form-data",
            data={"photos": (io.BytesIO(f.jpeg()), "again.jpg")},
        ).status_code
        == 429
    )
    assert (
        db.session.scalar(
            select(func.count()).select_from(ReportEvent).where(ReportEvent.kind.in_(("comment", "photo")))
        )
        == 2
    )
    assert api_report(client, headers).status_code == 201  # reports have their own budget
    coordinator, staff = f.make_user("coord", role="coordinator", token=True)
    assert [
        client.post(f"{API}/{report.id}/comments", json={"note": "Seen."}, headers=staff).status_code for _ in range(3)
    ] == [201] * 3


def test_the_form_sent_again_with_its_key_is_not_counted(limits, client):
    rider = f.make_user("rider1")
    f.log_in(client, "rider1")
    first = form_report(client, key="form-1")
    assert [form_report(client, key="form-1").headers["Location"] for _ in range(4)] == [first.headers["Location"]] * 4
    assert [form_report(client, key=k).status_code for k in ("form-2", "form-3", "form-4")] == [302, 302, 429]
    assert form_report(client, key="form-1").status_code == 302
    assert reports_of(rider) == 3


def test_only_the_key_a_report_is_filed_with_makes_a_resend(limits, client):
    """The API files with the Idempotency-Key header: a known key in a form field is no free pass."""
    rider, headers = f.make_user("rider1", token=True)
    assert [api_report(client, headers, key=k).status_code for k in ("gs-a", "gs-b", "gs-c")] == [201] * 3
    sneaky = api_report(client, headers, idempotency_key="gs-a")  # no header: it would file a new report
    assert sneaky.status_code == 429
    assert reports_of(rider) == 3
