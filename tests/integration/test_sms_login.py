"""Signing in with a phone number and a code by text message: the API and the pages, the limits, burnt codes,
no enumeration, normalisation, joining by invite, and `flask user create --phone`."""

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import SmsCode, User, utcnow
from tests import factories as f

PHONE, E164 = "138 0013 8000", "+8613800138000"
REQUEST, VERIFY = "/api/v1/auth/sms/request", "/api/v1/auth/sms/verify"


def rider(phone=E164, username="13800138000"):
    return f.make_user(username, phone=phone)


def last_code(texts, number=E164) -> str:
    codes = [params["code"] for to, kind, params in texts if to == number and kind == "login_code"]
    assert codes, f"no code sent to {number}"
    return codes[-1]


def test_a_code_is_sent_alike_whether_or_not_the_number_has_an_account(client, texts):
    rider()
    known = client.post(REQUEST, json={"phone": PHONE})
    unknown = client.post(REQUEST, json={"phone": "139 0013 9000"})
    assert (known.status_code, unknown.status_code) == (202, 202)
    assert known.get_json() == unknown.get_json() == {"sent": True, "expires_in": 300}
    assert [(to, kind) for to, kind, _p in texts] == [(E164, "login_code"), ("+8613900139000", "login_code")]
    code = last_code(texts)
    assert len(code) == 6 and code.isdigit()
    row = db.session.scalar(select(SmsCode).where(SmsCode.phone == E164))
    assert code not in row.code_hash and len(row.code_hash) == 64  # kept hashed, never in the clear
    assert timedelta(minutes=4) < row.expires_at - utcnow() <= timedelta(minutes=5)


def test_a_code_signs_in_once_with_a_long_lived_cookie(client, texts):
    user = rider()
    client.post(REQUEST, json={"phone": PHONE})
    r = client.post(VERIFY, json={"phone": "+86 138-0013-8000", "code": last_code(texts)})
    assert r.status_code == 200 and r.get_json()["user"]["id"] == user.id and "token" not in r.get_json()
    assert client.get_cookie("remember_token") is not None  # long-lived on phones, as a password login
    assert client.get("/api/v1/reports").status_code == 200
    other = client.application.test_client()
    r = other.post(VERIFY, json={"phone": PHONE, "code": last_code(texts)})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_code"


def test_a_code_can_give_a_personal_api_token_instead_of_a_cookie(client, texts):
    rider()
    client.post(REQUEST, json={"phone": PHONE})
    r = client.post(VERIFY, json={"phone": PHONE, "code": last_code(texts), "token": True})
    assert r.status_code == 200 and r.get_json()["token"].startswith("gs_")
    assert client.get_cookie("remember_token") is None
    fresh = client.application.test_client()
    assert fresh.get("/api/v1/reports", headers=f.bearer(r.get_json()["token"])).status_code == 200


def test_five_wrong_tries_burn_the_code(client):
    rider()
    code = f.sms_code(PHONE)
    wrong = "000000" if code != "000000" else "111111"
    answers = [client.post(VERIFY, json={"phone": PHONE, "code": wrong}).status_code for _ in range(5)]
    assert answers == [400] * 5
    r = client.post(VERIFY, json={"phone": PHONE, "code": code})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_code"
    assert db.session.scalar(select(SmsCode).where(SmsCode.phone == E164)) is None


def test_four_wrong_tries_leave_the_right_code_working(client):
    rider()
    code = f.sms_code(PHONE)
    for wrong in ("12345", "abcdef", "9999999", "000000" if code != "000000" else "111111"):
        assert client.post(VERIFY, json={"phone": PHONE, "code": wrong}).status_code == 400
    assert client.post(VERIFY, json={"phone": PHONE, "code": code}).status_code == 200


def test_an_expired_code_or_one_replaced_by_a_newer_one_does_not_work(client):
    rider()
    old = f.sms_code(PHONE)
    new = f.sms_code(PHONE)
    if old != new:
        assert client.post(VERIFY, json={"phone": PHONE, "code": old}).status_code == 400
    db.session.execute(db.update(SmsCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert client.post(VERIFY, json={"phone": PHONE, "code": new}).status_code == 400


def test_one_code_a_minute_per_number_with_retry_after(client, app, texts):
    assert app.config["SMS_CODE_PHONE_LIMIT"] == "1 per minute;5 per hour"
    assert app.config["SMS_CODE_ADDRESS_LIMIT"] == "20 per hour"
    assert client.post(REQUEST, json={"phone": PHONE}).status_code == 202
    r = client.post(REQUEST, json={"phone": "+8613800138000"})  # the same number however it is typed
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(r.headers["Retry-After"]) <= 60
    assert len(texts) == 1
    assert client.post(REQUEST, json={"phone": "139 0013 9000"}).status_code == 202  # another number is heard


def test_five_codes_an_hour_per_number(client, app):
    app.config["SMS_CODE_PHONE_LIMIT"] = "5 per hour"
    assert [client.post(REQUEST, json={"phone": PHONE}).status_code for _ in range(6)] == [202] * 5 + [429]
    r = client.post(REQUEST, json={"phone": PHONE})
    assert r.status_code == 429 and 60 < int(r.headers["Retry-After"]) <= 3600


def test_twenty_codes_an_hour_per_address(client, app):
    client.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    numbers = [f"1380013{n:04d}" for n in range(21)]
    answers = [client.post(REQUEST, json={"phone": n}).status_code for n in numbers]
    assert answers == [202] * 20 + [429]
    client.environ_base["REMOTE_ADDR"] = "10.9.8.6"
    assert client.post(REQUEST, json={"phone": numbers[-1]}).status_code == 202


@pytest.mark.parametrize("raw", ["12345", "abc", "010 6552 9988", "+1 202", "1380013800012345678901"])
def test_wrong_formats_are_400_invalid_phone(client, raw, texts):
    r = client.post(REQUEST, json={"phone": raw})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_phone"
    r = client.post(VERIFY, json={"phone": raw, "code": "123456"})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_phone"
    assert texts == []


def test_a_body_without_a_phone_is_refused_clearly(client):
    for body in ({}, {"phone": 13800138000}, ["x"]):
        r = client.post(REQUEST, json=body)
        assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_body"
    r = client.post(VERIFY, json={"phone": PHONE})
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_body"


@pytest.mark.parametrize("typed", ["138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "+8613800138000"])
def test_numbers_are_normalised_to_e164_china_by_default(client, texts, typed):
    assert client.post(REQUEST, json={"phone": typed}).status_code == 202
    assert texts[-1][0] == E164


def test_a_number_without_an_account_is_told_only_to_whoever_has_its_code(client):
    code = f.sms_code("139 0013 9000")
    r = client.post(VERIFY, json={"phone": "139 0013 9000", "code": code})
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "no_account"


def test_the_console_provider_writes_the_code_to_the_log(client, caplog):
    with caplog.at_level(logging.INFO, logger="gridsnap.sms"):
        client.post(REQUEST, json={"phone": PHONE})
    [line] = [r.getMessage() for r in caplog.records if r.name == "gridsnap.sms"]
    assert line.startswith(f"SMS to {E164}: ") and "验证码" in line


# -- the pages ---------------------------------------------------------------------------------


def test_the_login_page_asks_for_a_phone_and_links_to_the_password_form(client):
    page = client.get("/login?next=/mine").get_data(as_text=True)
    assert 'name="phone"' in page and 'name="password"' not in page
    assert 'href="/login/password?next=/mine"' in page
    password = client.get("/login/password").get_data(as_text=True)
    assert 'name="username"' in password and 'name="password"' in password and 'href="/login' in password


def test_a_rider_signs_in_on_the_page_with_a_code(client, texts):
    user = rider()
    page = client.get("/login?next=/mine").get_data(as_text=True)
    csrf = f.csrf_from(page)
    sent = client.post("/login/sms?next=/mine", data={"csrf_token": csrf, "phone": PHONE, "action": "send"})
    html = sent.get_data(as_text=True)
    assert sent.status_code == 200 and 'name="code"' in html and 'autocomplete="one-time-code"' in html
    wrong = "000000" if last_code(texts) != "000000" else "111111"
    data = {"csrf_token": csrf, "phone": PHONE, "action": "verify"}
    bad = client.post("/login/sms?next=/mine", data={**data, "code": wrong})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and 'role="alert"' in html and 'aria-invalid="true"' in html
    ok = client.post("/login/sms?next=/mine", data={**data, "code": last_code(texts)})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/mine")
    assert client.get("/mine").status_code == 200
    assert db.session.get(User, user.id) is not None


def test_the_page_says_when_to_ask_again(client):
    csrf = f.csrf_from(client.get("/login").get_data(as_text=True))
    data = {"csrf_token": csrf, "phone": PHONE, "action": "send"}
    assert client.post("/login/sms", data=data).status_code == 200
    r = client.post("/login/sms", data=data)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0 and 'role="alert"' in r.get_data(as_text=True)


def test_the_page_refuses_a_landline_next_to_the_field(client, texts):
    csrf = f.csrf_from(client.get("/login").get_data(as_text=True))
    r = client.post("/login/sms", data={"csrf_token": csrf, "phone": "010 6552 9988", "action": "send"})
    assert r.status_code == 400 and 'aria-invalid="true"' in r.get_data(as_text=True) and texts == []


def test_a_failed_password_login_is_announced(client):
    r = f.log_in_through_form(client, "nobody", "wrong-password")
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and 'role="alert"' in html and 'aria-invalid="true"' in html


# -- joining by invite, the command line --------------------------------------------------------


def test_joining_by_invite_confirms_the_number_with_a_code(client, texts):
    from app.teams import services as teams

    coord = f.make_user("coord", role="coordinator")
    team = teams.save_team(None, coord, name="犍路先锋", slogan="", requires_approval=False)
    invite = teams.create_invite(team, coord, 7)
    db.session.commit()
    url = f"/join/{invite.token}"
    page = client.get(url).get_data(as_text=True)
    assert 'name="code"' not in page  # first the number, then its code
    csrf = f.csrf_from(page)
    sent = client.post(url, data={"csrf_token": csrf, "display_name": "新骑手", "phone": PHONE, "action": "send"})
    assert sent.status_code == 200 and 'name="code"' in sent.get_data(as_text=True)
    form = {
        "csrf_token": csrf,
        "display_name": "新骑手",
        "phone": PHONE,
        "password": "long-enough-pw",
        "confirm": "long-enough-pw",
        "action": "join",
    }
    wrong = "000000" if last_code(texts) != "000000" else "111111"
    r = client.post(url, data={**form, "code": wrong})
    assert r.status_code == 400 and "not right" in r.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.phone == E164)) is None
    r = client.post(url, data={**form, "code": last_code(texts)})
    assert r.status_code == 302 and "/login/password" in r.headers["Location"]
    assert db.session.scalar(select(User.team_id).where(User.phone == E164)) == team.id


def test_user_create_with_a_phone_signs_in_by_code_only(runner, client):
    r = runner.invoke(args=["user", "create", "lao_wang", "--phone", "138-0013-8000", "--display-name", "老王"])
    assert r.exit_code == 0, r.output
    user = db.session.scalar(select(User).where(User.username == "lao_wang"))
    assert user.phone == E164 and not user.check_password("")
    code = f.sms_code(PHONE)
    assert client.post(VERIFY, json={"phone": PHONE, "code": code}).status_code == 200
    bad = runner.invoke(args=["user", "create", "x2", "--phone", "12345"])
    assert bad.exit_code != 0 and "手机号码" in bad.output  # the command speaks the site's default language
    again = runner.invoke(args=["user", "create", "x3", "--phone", PHONE])
    assert again.exit_code != 0 and "Traceback" not in again.output
    assert db.session.scalar(select(db.func.count()).select_from(User).where(User.phone == E164)) == 1


def test_the_console_providers_codes_are_shown_when_nothing_configures_logging(tmp_path):
    """`make run` (flask run, plain-text logs): the demo's sign-in codes must reach the terminal."""
    import subprocess
    import sys

    script = (
        "from app import create_app\n"
        f"app = create_app({{'SQLALCHEMY_DATABASE_URI': 'sqlite:///{tmp_path}/x.db', 'SECRET_KEY': 'x'}})\n"
        "from app.sms import ConsoleSms\n"
        "with app.app_context():\n"
        "    ConsoleSms().send('+8613800138001', 'login_code', {'code': '424242'}, key='k')\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("GRIDSNAP_LOG")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    assert "SMS to +8613800138001" in out.stderr and "424242" in out.stderr
