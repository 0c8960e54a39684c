"""Summary pages, JSON, CSV, CLI and email digest: each renders the same summary; only staff see them."""

import csv
import email
import io
import json
from datetime import date, datetime, timedelta
from email import policy
from zoneinfo import ZoneInfo

import pytest

from app.extensions import db
from app.models import User
from app.summaries.services import weekly_summary
from tests import factories as f
from tests.conftest import need
from tests.servers import SmtpCatcher, free_port

SH = ZoneInfo("Asia/Shanghai")
MON = date(2025, 3, 3)  # Monday of 2025-W10, long past whenever the tests run
WEEK = "2025-W10"


def at(day: int, hour: int = 0) -> datetime:
    d = MON + timedelta(days=day)
    return datetime(d.year, d.month, d.day, hour, tzinfo=SH)


@pytest.fixture
def week_data(app):
    """A few reports in 2025-W10 and the week before, and one user of each role."""
    rider = f.make_user("rider1", team="犍路先锋")
    f.make_user("coord", role="coordinator")
    f.make_user("boss", role="admin")
    f.make_user("handler1", role="handler")
    f.report_row(rider, "illegal_parking", at(-3, 9))
    f.history(
        f.report_row(rider, "illegal_parking", at(0, 9)),
        [("accepted", at(0, 11)), ("assigned", at(1, 8)), ("resolved", at(1, 9))],
    )
    f.history(f.report_row(rider, "elevator_hazard", at(2, 9)), [("rejected", at(2, 10), {})])
    f.report_row(rider, "illegal_parking", at(3, 9), lat=29.2091, lon=103.9513)
    f.report_row(rider, "garbage", at(6, 23))
    return rider


def _login(client, username):
    f.log_in(client, db.session.query(User).filter_by(username=username).one())
    return client


def _staff_client(client, username="coord"):
    return _login(client, username)


def _without_generated(d: dict) -> dict:
    return {k: v for k, v in d.items() if k != "generated_at"}


@pytest.mark.parametrize("username", ["rider1", "handler1"])
def test_riders_and_handlers_may_not_see_summaries(client, week_data, username):
    _login(client, username)
    for path in ("/summaries/", f"/summaries/{WEEK}", f"/summaries/{WEEK}.json", f"/summaries/{WEEK}.csv"):
        assert client.get(path).status_code == 403, path


def test_anonymous_visitors_are_sent_to_login(client, week_data):
    r = client.get(f"/summaries/{WEEK}")
    assert r.status_code in (302, 401)


@pytest.mark.parametrize("username", ["coord", "boss"])
def test_staff_see_the_list_of_weeks(client, week_data, username):
    _staff_client(client, username)
    from app.summaries.weeks import week_of

    current = week_of(datetime.now(SH), SH).name
    pages, page = [], 1
    while True:
        html = client.get(f"/summaries/?page={page}").get_data(as_text=True)
        pages.append(html)
        if f"/summaries/?page={page + 1}" not in html:
            break
        page += 1
        assert page < 20
    first_row = pages[0].split("<tbody>")[1].split("</tr>")[0]
    assert f">{current}<" in first_row and "so-far" in first_row  # newest first, marked "so far"
    row = next(r for html in pages for r in html.split("<tr>") if f">{WEEK}<" in r)
    assert "<td>4</td>" in row and "so-far" not in row
    # paging stops at the page holding the week of the earliest report (Friday 28 February 2025: 2025-W09)
    assert ">2025-W09<" in pages[-1] and all(">2025-W09<" not in html for html in pages[:-1])


def test_week_page_shows_the_service_figures(client, week_data):
    _staff_client(client)
    s = weekly_summary(WEEK)
    r = client.get(f"/summaries/{WEEK}?lang=en")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert 'id="fig-received"' in html
    card = html.split('id="fig-received"')[1].split("</div>")[0]
    assert f">{s.received}<" in card and s.received == 4
    # the narrative in the page's language only
    assert s.narrative["en"].split(",")[0] in html and s.narrative["zh"][:10] not in html
    assert "<svg" in html and "hotspot-map" in html and "vendor/leaflet/leaflet.js" in html
    assert "so far" not in html.split("<main")[1].split("</h1>")[0]


def test_current_week_page_says_so_far(client, week_data):
    _staff_client(client)
    from app.summaries.weeks import week_of

    current = week_of(datetime.now(SH), SH).name
    html = client.get(f"/summaries/{current}?lang=en").get_data(as_text=True)
    assert "so far" in html.split("</h1>")[0]


def test_json_is_the_service_object(client, week_data):
    _staff_client(client)
    data = client.get(f"/summaries/{WEEK}.json").get_json()
    expected = json.loads(json.dumps(weekly_summary(WEEK).to_dict()))
    assert _without_generated(data) == _without_generated(expected)
    for key in (
        "week",
        "start",
        "end",
        "received",
        "accepted",
        "rejected",
        "duplicates",
        "resolved",
        "closed",
        "reopened",
        "open_at_end",
        "overdue_at_end",
        "hours_to_accept",
        "hours_to_resolve",
        "within_deadline_pct",
        "by_category",
        "by_grid",
        "by_department",
        "by_team",
        "previous",
        "hotspots",
        "top_volunteers",
        "top_teams",
        "narrative",
    ):
        assert key in data
    assert data["start"] == "2025-03-03T00:00:00+08:00" and data["end"] == "2025-03-10T00:00:00+08:00"
    assert (data["received"], data["accepted"], data["rejected"], data["resolved"]) == (4, 1, 1, 1)
    assert data["hours_to_accept"] == {"median": 2.0, "p90": 2.0, "count": 1}
    assert data["previous"]["received"] == 1
    assert set(data["narrative"]) == {"zh", "en"}
    assert data["hotspots"][0]["count"] == 4  # this week's four reports all lie within 25 m


def test_csv_has_one_row_per_category_and_grid(client, week_data):
    _staff_client(client)
    r = client.get(f"/summaries/{WEEK}.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    s = weekly_summary(WEEK)
    assert len(rows) == len(s.by_category_grid)
    by_cat = {row["category"]: row for row in rows}
    assert (
        by_cat["illegal_parking"]["received"] == "2" and by_cat["illegal_parking"]["hours_to_resolve_median"] == "24.0"
    )
    assert by_cat["elevator_hazard"]["rejected"] == "1"
    assert sum(int(row["received"]) for row in rows) == s.received


@pytest.mark.parametrize(
    "path,status",
    [
        ("/summaries/2025-W53", 404),
        ("/summaries/2025-W99", 404),
        ("/summaries/2025-10", 400),
        ("/summaries/2099-W01", 404),
        ("/summaries/2025-W10.xml", 404),
    ],
)
def test_bad_week_names_are_refused_clearly(client, week_data, path, status):
    _staff_client(client)
    assert client.get(path).status_code == status


@pytest.mark.parametrize(
    "name,status,code",
    [
        ("2025-W53", 404, "no_such_week"),  # 2025 has 52 ISO weeks
        ("2099-W01", 404, "future_week"),  # a real week that has not begun: told apart, so the user knows why
        ("2025-10", 400, "invalid_week"),
    ],
)
def test_bad_week_names_in_json_get_a_json_error(client, week_data, name, status, code):
    _staff_client(client)
    r = client.get(f"/summaries/{name}.json")
    assert r.status_code == status and r.get_json()["error"]["code"] == code
    assert r.get_json()["error"]["message"]


def test_week_53_of_2020_exists(client, week_data):
    _staff_client(client)
    data = client.get("/summaries/2020-W53.json").get_json()
    assert data["start"] == "2020-12-28T00:00:00+08:00"


def test_cli_renders_the_same_summary_in_every_format(runner, week_data, tmp_path):
    expected = json.loads(json.dumps(weekly_summary(WEEK).to_dict()))
    out = runner.invoke(args=["summary", WEEK, "--format", "json"])
    assert out.exit_code == 0, out.output
    assert _without_generated(json.loads(out.output)) == _without_generated(expected)
    out = runner.invoke(args=["summary", WEEK, "--format", "csv"])
    assert out.output.splitlines()[0].startswith("week,category,")
    target = tmp_path / "w.html"
    out = runner.invoke(args=["summary", WEEK, "--format", "html", "--output", str(target)])
    assert out.exit_code == 0, out.output
    html = target.read_text(encoding="utf-8")
    assert expected["narrative"]["zh"] in html and "<style>" in html and 'id="fig-received"' in html


def test_cli_without_a_week_takes_the_last_complete_one(runner, week_data):
    from app.summaries.weeks import last_complete_week

    out = runner.invoke(args=["summary", "--format", "json"])
    assert json.loads(out.output)["week"] == last_complete_week(SH).name


def test_cli_refuses_a_bad_week(runner, week_data):
    out = runner.invoke(args=["summary", "2025-W53"])
    assert out.exit_code != 0 and "2025" in out.output and "53" in out.output


# ---- email digest --------------------------------------------------------------------------


@pytest.fixture
def smtp_server(app):
    """A real SMTP server (aiosmtpd) on a free local port, collecting what arrives."""
    need(SmtpCatcher.available(), "aiosmtpd not installed: pip install aiosmtpd")
    inbox = SmtpCatcher().start()
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=inbox.port,
        SMTP_TLS="",
        SMTP_USER="",
        SMTP_SENDER="gridsnap@example.org",
        BASE_URL="https://gridsnap.example.org",
    )
    yield inbox
    inbox.stop()


def _opt_in(username, address):
    u = db.session.query(User).filter_by(username=username).one()
    u.email, u.wants_digest = address, True
    db.session.commit()


def test_email_digest_reaches_opted_in_staff_with_html_and_text(runner, week_data, smtp_server):
    _opt_in("coord", "coord@example.org")
    _opt_in("boss", "boss@example.org")
    _opt_in("rider1", "rider@example.org")  # riders never get it, even if the flag is set
    f.make_user("coord2", role="coordinator").email = "quiet@example.org"  # did not opt in
    db.session.commit()
    out = runner.invoke(args=["summary", WEEK, "--format", "json", "--email"])
    assert out.exit_code == 0, out.output
    # one message each, addressed to that person alone: nobody sees who else gets it
    got = sorted(
        (env.rcpt_tos, email.message_from_bytes(env.content, policy=policy.default)["To"])
        for env in smtp_server.envelopes
    )
    assert got == [(["boss@example.org"], "boss@example.org"), (["coord@example.org"], "coord@example.org")]
    env = smtp_server.envelopes[0]
    assert env.mail_from == "gridsnap@example.org"
    msg = email.message_from_bytes(env.content, policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    s = weekly_summary(WEEK)
    link = f"https://gridsnap.example.org/summaries/{WEEK}"
    assert link in text and f'href="{link}"' in html
    assert s.narrative["zh"] in text and s.narrative["en"] in text
    assert f"<strong>{s.received}</strong>" in html and WEEK in msg["Subject"]


def test_cli_fails_loudly_when_the_mail_server_is_unreachable(runner, app, week_data):
    _opt_in("coord", "coord@example.org")
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_TLS="")  # nothing listens there
    out = runner.invoke(args=["summary", WEEK, "--format", "csv", "--email"])
    assert out.exit_code != 0 and "could not send the digest" in out.output


def test_the_smtp_password_never_crosses_the_network_unencrypted(runner, app, week_data, smtp_server):
    _opt_in("coord", "coord@example.org")
    app.config.update(SMTP_HOST="mail.example.org", SMTP_TLS="", SMTP_USER="gridsnap", SMTP_PASSWORD="secret")
    out = runner.invoke(args=["summary", WEEK, "--format", "csv", "--email"])
    assert out.exit_code != 0 and "GRIDSNAP_SMTP_TLS" in out.output and "secret" not in out.output
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_USER="")  # the local relay, no login: sent as before
    assert runner.invoke(args=["summary", WEEK, "--format", "csv", "--email"]).exit_code == 0
    assert len(smtp_server.envelopes) == 1


def test_no_digest_is_sent_when_nobody_opted_in(runner, week_data, smtp_server):
    out = runner.invoke(args=["summary", WEEK, "--email"])
    assert out.exit_code == 0 and smtp_server.envelopes == []


def test_staff_opt_in_from_the_profile(client, week_data):
    _staff_client(client)
    page = client.get("/profile").get_data(as_text=True)
    assert 'id="digest"' in page
    token = f.csrf_from(page)
    r = client.post("/summaries/digest", data={"csrf_token": token, "wants_digest": "y", "email": "c@example.org"})
    assert r.status_code == 302
    u = db.session.query(User).filter_by(username="coord").one()
    db.session.refresh(u)
    assert (u.wants_digest, u.email) == (True, "c@example.org")
    r = client.post("/summaries/digest", data={"csrf_token": token, "email": "c@example.org"})
    db.session.refresh(u)
    assert u.wants_digest is False


def test_opting_in_needs_a_valid_address(client, week_data):
    _staff_client(client)
    token = f.csrf_from(client.get("/profile").get_data(as_text=True))
    r = client.post("/summaries/digest", data={"csrf_token": token, "wants_digest": "y", "email": "not an address"})
    assert r.status_code == 400


def test_riders_cannot_opt_in(client, week_data):
    _login(client, "rider1")
    page = client.get("/profile").get_data(as_text=True)
    assert 'id="digest"' not in page
    r = client.post(
        "/summaries/digest", data={"csrf_token": f.csrf_from(page), "wants_digest": "y", "email": "r@example.org"}
    )
    assert r.status_code == 403
