"""Security: headers and cookies, body limits, spreadsheet-safe CSV, verified SMTP TLS, and object-level
access (the other department's handler, another rider, unapproved riders) beyond test_route_access."""

import csv
import io
import json
import ssl
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Category, Department, Photo, Team, User
from tests import factories as f
from tests.conftest import need
from tests.servers import SmtpCatcher

SH = ZoneInfo("Asia/Shanghai")


# -- headers and cookies ---------------------------------------------------------------------------


def test_pages_and_api_answers_carry_security_headers(client, app):
    f.make_user("rider1")
    for path in ("/login", "/api/v1/reports", "/healthz"):
        r = client.get(path)
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert r.headers["X-Frame-Options"] == "DENY", path
        assert r.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", path
        csp = dict(d.strip().split(" ", 1) for d in r.headers["Content-Security-Policy"].split(";"))
        assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'", path
        assert csp["script-src"] == "'self'", path  # no inline script, no eval
        assert csp["base-uri"] == "'self'" and csp["form-action"] == "'self'", path


def _login_over(client, scheme: str):
    f.make_user("rider1", password=f.PASSWORD)
    base = f"{scheme}://localhost"
    page = client.get("/login", base_url=base).get_data(as_text=True)
    return client.post(
        "/login/password",
        base_url=base,
        headers={"Referer": base + "/login"},  # CSRF checks it on HTTPS
        data={"username": "rider1", "password": f.PASSWORD, "remember": "y", "csrf_token": f.csrf_from(page)},
    )


def test_session_and_remember_me_cookies_are_secure_over_https(client, app):
    r = _login_over(client, "https")
    assert r.status_code == 302
    cookies = r.headers.getlist("Set-Cookie")
    names = {c.split("=", 1)[0] for c in cookies}
    assert {"session", "remember_token"} <= names
    for c in cookies:
        flags = [p.strip().lower() for p in c.split(";")]
        assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags, c
    assert r.headers["Strict-Transport-Security"] == "max-age=15552000"


def test_cookies_over_plain_http_still_work_on_a_lan(client, app):
    r = _login_over(client, "http")
    assert r.status_code == 302
    assert all("secure" not in [p.strip().lower() for p in c.split(";")] for c in r.headers.getlist("Set-Cookie"))
    assert "Strict-Transport-Security" not in r.headers
    assert client.get("/mine").status_code == 200  # the cookie came back: still logged in


def test_a_new_password_ends_the_sessions_and_remember_me_logins_made_before(client, app):
    from app.admin.services import reset_password

    assert _login_over(client, "http").status_code == 302
    assert client.get("/mine").status_code == 200
    remembered = app.test_client()  # another phone: only the remember-me cookie of that login
    remembered.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert remembered.get("/mine").status_code == 200
    rider = db.session.scalar(select(User).where(User.username == "rider1"))
    reset_password(rider, f.make_user("boss", role="admin"), "a-new-secret-9")
    db.session.commit()
    for phone in (client, remembered):
        r = phone.get("/mine")
        assert r.status_code == 302 and "/login" in r.headers["Location"]
    page = client.get("/login").get_data(as_text=True)  # the new password logs in again
    r = client.post(
        "/login/password", data={"username": "rider1", "password": "a-new-secret-9", "csrf_token": f.csrf_from(page)}
    )
    assert r.status_code == 302 and client.get("/mine").status_code == 200


def test_logins_from_before_login_sessions_end(app):
    """Cookies that carry a user id (bare, or with a password stamp) name no login: everyone logs in once more."""
    from flask_login.utils import encode_cookie

    rider = f.make_user("rider1")
    for old_id in (str(rider.id), f"{rider.id}.0123456789abcdef0123"):
        session_only, remembered = app.test_client(), app.test_client()
        with session_only.session_transaction() as sess:
            sess["_user_id"], sess["_fresh"] = old_id, True
        with app.test_request_context():
            remembered.set_cookie("remember_token", encode_cookie(old_id))
        for phone in (session_only, remembered):
            r = phone.get("/mine")
            assert r.status_code == 302 and "/login" in r.headers["Location"], old_id


def test_language_switch_does_not_redirect_off_site(client, app):
    for target in (
        "//evil.example/x",
        "https://evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
    ):
        r = client.get("/lang/en", query_string={"next": target})
        assert r.status_code == 302
        assert "evil.example" not in r.headers["Location"] and "javascript" not in r.headers["Location"], target
    assert client.get("/lang/en", query_string={"next": "/mine?page=2"}).headers["Location"] == "/mine?page=2"


# -- request bodies ------------------------------------------------------------------------------


def test_json_bodies_over_a_megabyte_are_refused_before_parsing(client, app):
    rider, headers = f.make_user("rider1", token=True)
    r0 = f.file_report(rider)
    big = json.dumps({"note": "x" * (1024 * 1024 + 10)})
    r = client.post(
        f"/api/v1/reports/{r0.id}/comments", data=big, headers={**headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "too_large"
    # also for anonymous callers on any path: nothing reads a large JSON body for them
    assert client.post("/login/password", data=big, content_type="application/json").status_code == 413
    small = client.post(f"/api/v1/reports/{r0.id}/comments", json={"note": "still there"}, headers=headers)
    assert small.status_code == 201


# -- guessing API tokens --------------------------------------------------------------------------


def test_an_address_sending_unknown_bearer_tokens_is_refused_for_a_while(client, app):
    app.config["TOKEN_FAILURE_LIMIT"] = "5 per minute"
    _u, good = f.make_user("rider1", token=True)
    for i in range(5):
        assert client.get("/api/v1/reports", headers=f.bearer(f"gs_guess{i}")).status_code == 401
    r = client.get("/api/v1/reports", headers=f.bearer("gs_guess5"))
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "rate_limited"
    assert client.get("/login").status_code == 200  # people logging in with a password are not affected


def test_a_valid_token_passes_whatever_bad_tokens_its_address_sent(client, app):
    """The failure count is about noise: a rider's phone behind the same address as a noisy script still works."""
    app.config["TOKEN_FAILURE_LIMIT"] = "5 per minute"
    _u, good = f.make_user("rider1", token=True)
    statuses = [client.get("/api/v1/reports", headers=f.bearer(f"gs_guess{i}")).status_code for i in range(20)]
    assert statuses[-1] == 429
    assert client.get("/api/v1/reports", headers=good).status_code == 200
    form = {"service_code": "garbage", "lat": "29.2254", "long": "103.9507", "description": "x"}
    assert client.post("/open311/v2/requests.json", data={**form, "api_key": "gs_guess"}).status_code == 429
    assert client.get("/api/v1/reports", headers=good).status_code == 200


def test_a_bearer_token_does_not_open_pages(client, app):
    """Tokens are for the APIs: on a page the header is ignored and the page asks for a login."""
    coordinator, headers = f.make_user("coord", role="coordinator", token=True)
    assert client.get("/api/v1/reports", headers=headers).status_code == 200
    for page in ("/board", "/profile", "/summaries/"):
        r = client.get(page, headers=headers)
        assert r.status_code == 302 and "/login" in r.headers["Location"], page
    assert client.get("/board", headers=f.bearer("gs_unknown")).status_code == 302  # no token lookup, no 429


def test_an_address_sending_unknown_open311_api_keys_is_refused_for_a_while(client, app):
    app.config["TOKEN_FAILURE_LIMIT"] = "5 per minute"
    form = {"service_code": "garbage", "lat": "29.2254", "long": "103.9507", "description": "x"}
    for i in range(5):  # a new key each time: the per-key limit of Open311 never sees them twice
        r = client.post("/open311/v2/requests.json", data={**form, "api_key": f"gs_guess{i}"})
        assert r.status_code == 403
    r = client.post("/open311/v2/requests.json", data={**form, "api_key": "gs_guess5"})
    assert r.status_code == 429 and r.get_json()[0]["code"] == 429


# -- CSV export ------------------------------------------------------------------------------------


def test_summary_csv_neutralises_spreadsheet_formulas(client, app):
    from app.grids.models import Grid

    cat = db.session.scalar(select(Category).where(Category.code == "garbage"))
    cat.name_zh, cat.name_en = '=HYPERLINK("http://evil.example","点我")', "+cmd|' /C calc'!A0"
    grid = Grid(
        code="@G1",
        name="-1+2",
        geometry={
            "type": "Polygon",
            "coordinates": [[[103.9, 29.2], [103.96, 29.2], [103.96, 29.23], [103.9, 29.23], [103.9, 29.2]]],
        },
    )
    db.session.add(grid)
    db.session.commit()
    rider = f.make_user("rider1")
    f.report_row(rider, "garbage", datetime(2025, 3, 4, 9, tzinfo=SH), grid_id=grid.id)
    f.log_in(client, f.make_user("coord", role="coordinator"))
    r = client.get("/summaries/2025-W10.csv")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    row = next(x for x in rows if x["category"] == "garbage")
    assert row["category_zh"] == "'" + cat.name_zh
    assert row["category_en"] == "'" + cat.name_en
    assert row["grid"] == "'@G1" and row["grid_name"] == "'-1+2"
    assert row["week"] == "2025-W10" and row["received"] == "1"  # ordinary cells untouched


def test_spreadsheet_safe_quotes_every_formula_start_and_nothing_else():
    from app.summaries.render import spreadsheet_safe

    for bad in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert spreadsheet_safe(bad) == "'" + bad
    for fine in ("网格 A", "2025-W10", "", "a=b"):
        assert spreadsheet_safe(fine) == fine
    assert spreadsheet_safe(-3) == -3 and spreadsheet_safe(None) is None  # numbers stay numbers


# -- SMTP over TLS ------------------------------------------------------------------------------


def _certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1 (file paths: cert, key)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "smtp.pem", tmp_path / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_smtp(app, tmp_path):
    """An SMTP server with a self-signed certificate, speaking STARTTLS or implicit TLS."""
    need(SmtpCatcher.available(), "aiosmtpd not installed: pip install aiosmtpd")
    cert, key = _certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    started = []

    def start(mode: str):
        inbox = SmtpCatcher(server_tls, mode).start()
        started.append(inbox)
        app.config.update(
            SMTP_HOST="127.0.0.1", SMTP_PORT=inbox.port, SMTP_TLS=mode, SMTP_USER="", SMTP_SENDER="gridsnap@example.org"
        )
        return inbox

    yield start, cert
    for inbox in started:
        inbox.stop()


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_digest_refuses_a_mail_server_whose_certificate_is_not_trusted(app, tls_smtp, mode, monkeypatch):
    from app.summaries import digest
    from app.summaries.services import weekly_summary

    start, cert = tls_smtp
    inbox = start(mode)
    summary = weekly_summary("2025-W10")
    with pytest.raises(ssl.SSLCertVerificationError):
        digest.send_digest(summary, ["coord@example.org"])
    assert inbox.envelopes == []
    monkeypatch.setenv("SSL_CERT_FILE", cert)  # the same server, now trusted: the digest goes out
    assert digest.send_digest(summary, ["coord@example.org"]) == ["coord@example.org"]
    assert [e.rcpt_tos for e in inbox.envelopes] == [["coord@example.org"]]


# -- object-level access ------------------------------------------------------------------------


@pytest.fixture
def people(app):
    """A rider's report, its department's handler, another department's handler, another rider."""
    cat = db.session.scalar(select(Category).where(Category.code == "illegal_parking"))
    other_dept = db.session.scalar(select(Department).where(Department.id != cat.default_department_id))
    rider, rider_h = f.make_user("rider1", token=True)
    report = f.file_report(rider)
    ours = f.make_user(
        "handler_ours", "handler", department=db.session.get(Department, cat.default_department_id).code, token=True
    )
    theirs = f.make_user("handler_theirs", "handler", department=other_dept.code, token=True)
    other = f.make_user("rider2", token=True)
    return report, {"rider": rider_h, "ours": ours[1], "theirs": theirs[1], "other": other[1]}


def test_a_handler_of_another_department_cannot_read_or_act_on_a_report(client, people):
    report, h = people
    photo = db.session.scalar(select(Photo).where(Photo.report_id == report.id))
    for who, allowed in (("theirs", False), ("other", False), ("ours", True), ("rider", True)):
        for path in (
            f"/api/v1/reports/{report.id}",
            f"/api/v1/reports/{report.id}/events",
            f"/photos/{photo.id}/thumb.jpg",
        ):
            status = client.get(path, headers=h[who]).status_code
            assert (status == 200) == allowed and status in (200, 403), (who, path, status)
        r = client.post(f"/api/v1/reports/{report.id}/comments", json={"note": "hi"}, headers=h[who])
        assert (r.status_code == 201) == allowed and r.status_code in (201, 403), (who, r.status_code)
    r = client.post(
        f"/api/v1/reports/{report.id}/transitions", json={"to": "accepted", "version": 1}, headers=h["theirs"]
    )
    assert r.status_code == 403
    db.session.refresh(report)
    assert report.status == "submitted"


def test_another_riders_list_and_board_never_show_the_report(client, people):
    report, h = people
    items = client.get("/api/v1/reports", headers=h["other"]).get_json()["items"]
    assert items == []
    f.log_in(client, db.session.scalar(select(User).where(User.username == "handler_theirs")))
    assert client.get(f"/board/reports/{report.id}").status_code == 403


def test_coordinators_cannot_approve_or_promote_someone_from_another_team(client, app):
    t1, t2 = Team(name="A"), Team(name="B")
    db.session.add_all([t1, t2])
    db.session.flush()
    outsider = f.make_user("rider9", team_id=t2.id, approved=False)
    f.log_in(client, f.make_user("coord", role="coordinator"))
    token = f.csrf_from(client.get(f"/teams/{t1.id}").get_data(as_text=True))
    assert client.post(f"/teams/{t1.id}/members/{outsider.id}/approve", data={"csrf_token": token}).status_code == 404
    assert (
        client.post(
            f"/teams/{t1.id}/members/{outsider.id}/leader", data={"csrf_token": token, "leader": "1"}
        ).status_code
        == 404
    )
    db.session.refresh(outsider)
    assert outsider.approved is False


def test_unapproved_riders_cannot_join_or_list_other_riders_reports(client, app):
    owner = f.make_user("rider1")
    report = f.file_report(owner)
    team = Team(name="Vetted", requires_approval=True)
    db.session.add(team)
    db.session.flush()
    newcomer, headers = f.make_user("rider2", team_id=team.id, approved=False, token=True)
    db.session.commit()
    near = {"category": "illegal_parking", "lat": str(report.lat), "lon": str(report.lon)}
    r = client.get("/api/v1/reports/nearby", query_string=near, headers=headers)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "not_approved"
    r = client.post(
        f"/api/v1/reports/{report.id}/photos",
        headers=headers,
        data={
            "comment": "also here",
            "lat": near["lat"],
            "lon": near["lon"],
            "photos": [(io.BytesIO(f.jpeg()), "p.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 403
    assert client.get(f"/api/v1/reports/{report.id}", headers=headers).status_code == 403  # not a co-reporter
    # once the team approves them, the same calls work
    newcomer.approved = True
    db.session.commit()
    assert client.get("/api/v1/reports/nearby", query_string=near, headers=headers).get_json()["items"]
    r = client.post(
        f"/api/v1/reports/{report.id}/photos",
        headers=headers,
        data={
            "comment": "also here",
            "lat": near["lat"],
            "lon": near["lon"],
            "photos": [(io.BytesIO(f.jpeg()), "p.jpg")],
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 201


def test_open311_public_media_never_serves_follow_up_photos(client, app):
    from app.triage.services import add_rider_photos

    owner = f.make_user("rider1")
    report = f.file_report(owner)
    add_rider_photos(report, f.make_user("rider2"), [f.jpeg()], "still here", lat=report.lat, lon=report.lon)
    db.session.commit()
    app.config["OPEN311_PUBLIC_MEDIA"] = True
    kinds = {p.kind: p.id for p in db.session.scalars(select(Photo).where(Photo.report_id == report.id))}
    assert set(kinds) == {"report", "followup"}
    assert client.get(f"/open311/media/{kinds['report']}.jpg").status_code == 200
    assert client.get(f"/open311/media/{kinds['followup']}.jpg").status_code == 404  # riders' faces, plates


# -- secrets on disk ------------------------------------------------------------------------------


def test_the_generated_instance_secret_is_readable_by_its_owner_only(tmp_path):
    import os

    from app.config import _instance_secret

    key = _instance_secret(str(tmp_path))
    assert len(key) == 64 and _instance_secret(str(tmp_path)) == key  # kept across restarts
    assert os.stat(tmp_path / "secret_key").st_mode & 0o077 == 0


def test_a_backup_folder_is_readable_by_its_owner_only(app, tmp_path):
    import os
    import shutil

    from app.ops.backup import create_backup
    from app.storage import photo_store

    need(db.engine.dialect.name == "sqlite" or shutil.which("pg_dump") is not None, "pg_dump not installed")
    f.file_report(f.make_user("rider1"))
    folder = create_backup(db.engine, photo_store(), str(tmp_path))
    assert os.stat(folder).st_mode & 0o077 == 0


def test_api_keys_in_query_strings_are_not_written_to_the_access_log(client, app, caplog):
    caplog.set_level("INFO", logger="gridsnap.access")
    client.get("/open311/v2/requests.json?api_key=gs_secret123&status=open&token=abc").close()
    queries = [r.fields["query"] for r in caplog.records if r.name == "gridsnap.access"]
    assert queries == ["api_key=[redacted]&status=open&token=[redacted]"]
