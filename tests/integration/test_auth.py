"""Accounts: login, safe redirects, rate limits, API tokens, CLI, language."""

import re

from app.extensions import db
from app.models import ApiToken, User
from tests.factories import PASSWORD, api_token, csrf_from, log_in_through_form, make_user


def test_password_is_hashed_with_a_strong_kdf(app):
    u = make_user("rider1", password=PASSWORD)
    assert PASSWORD not in u.password_hash
    assert u.password_hash.startswith("scrypt:")


def test_login_wrong_password_is_refused(client, app):
    make_user("rider1", password=PASSWORD)
    r = log_in_through_form(client, "rider1", "wrong-password")
    assert r.status_code == 400
    assert client.get("/mine").status_code == 302


def test_login_without_csrf_token_is_refused(client, app):
    make_user("rider1", password=PASSWORD)
    r = client.post("/login/password", data={"username": "rider1", "password": PASSWORD})
    assert r.status_code == 400
    assert client.get("/mine").status_code == 302


def test_next_redirect_stays_on_site(client, app):
    make_user("rider1", password=PASSWORD)
    page = client.get("/login?next=https://evil.example/steal")
    r = client.post(
        "/login/password?next=https://evil.example/steal",
        data={"username": "rider1", "password": PASSWORD, "csrf_token": csrf_from(page.get_data(as_text=True))},
    )
    assert r.status_code == 302
    assert "evil.example" not in r.headers["Location"]


def test_next_redirect_to_a_local_page_is_followed(client, app):
    make_user("rider1", password=PASSWORD)
    page = client.get("/login?next=/mine")
    r = client.post(
        "/login/password?next=/mine",
        data={"username": "rider1", "password": PASSWORD, "csrf_token": csrf_from(page.get_data(as_text=True))},
    )
    assert r.headers["Location"].endswith("/mine")


def test_login_is_rate_limited(client, app):
    make_user("rider1", password=PASSWORD)
    statuses = [log_in_through_form(client, "rider1", "nope").status_code for _ in range(12)]
    assert statuses[0] == 400
    assert 429 in statuses


def _attempt(client, name, password, address):
    client.environ_base["REMOTE_ADDR"] = address
    return log_in_through_form(client, name, password).status_code


def test_failed_logins_slow_guessing_an_account_from_any_address(client, app):
    """Past the account's failed tries, an address that failed for it waits, and a new address gets one look:
    guessing stays slow. Successful logins do not count, and other accounts are not affected."""
    app.config["LOGIN_ACCOUNT_RATE_LIMIT"] = "3 per hour"
    make_user("rider1", password=PASSWORD)
    make_user("rider2", password=PASSWORD)
    for n in range(4):  # successes first: they take nothing from the account's allowance
        assert _attempt(client, "rider1", PASSWORD, f"10.0.0.{100 + n}") == 302
        client.post("/logout", data={"csrf_token": csrf_from(client.get("/profile").get_data(as_text=True))})
    guesser = app.test_client()
    assert [_attempt(guesser, "rider1", "nope", "10.0.0.1") for _ in range(4)] == [400, 400, 400, 429]
    r = guesser.post(
        "/login/password",
        data={
            "username": "RIDER1 ",
            "password": "nope",  # however it is typed
            "csrf_token": csrf_from(guesser.get("/login").get_data(as_text=True)),
        },
    )
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    assert [_attempt(guesser, "rider1", "nope", "10.0.0.2") for _ in range(2)] == [400, 429]
    assert _attempt(guesser, "rider2", "nope", "10.0.0.1") == 400


def test_an_ipv6_guesser_counts_as_its_whole_64_network(client, app):
    """A phone on IPv6 may use any address of its /64: the guesses from all of them count together, while
    another network (and the same network's IPv4 neighbour written as IPv6) keep their own."""
    app.config["LOGIN_ACCOUNT_RATE_LIMIT"] = "3 per hour"
    make_user("rider1", password=PASSWORD)
    guesser = app.test_client()
    rotating = [f"2408:8456:3e01:7a10::{n:x}" for n in range(1, 5)]
    assert [_attempt(guesser, "rider1", "nope", address) for address in rotating] == [400, 400, 400, 429]
    assert _attempt(guesser, "rider1", "nope", "2408:8456:3e01:7a10:abcd:1:2:3") == 429
    assert [_attempt(guesser, "rider1", "nope", "2408:8456:3e01:7a11::1") for _ in range(2)] == [400, 429]
    assert _attempt(app.test_client(), "rider1", PASSWORD, "::ffff:10.9.9.9") == 302  # a fresh IPv4 address


def test_failures_from_elsewhere_never_refuse_the_right_password(client, app):
    """A rider's user name is their phone number: anyone can fail logins for it. The right password still logs
    in from an address that has not been failing, and from a phone the rider logged in on before, even on the
    address the guessing comes from (a carrier's shared address)."""
    app.config["LOGIN_ACCOUNT_RATE_LIMIT"] = "3 per hour"
    app.config["LOGIN_RATE_LIMIT"] = "5 per minute"
    make_user("rider1", password=PASSWORD)
    phone = app.test_client()  # the rider's own phone, logged in before
    assert _attempt(phone, "rider1", PASSWORD, "10.1.1.1") == 302
    phone.post("/logout", data={"csrf_token": csrf_from(phone.get("/profile").get_data(as_text=True))})
    attacker = app.test_client()
    assert 429 in [_attempt(attacker, "rider1", "nope", "10.0.0.1") for _ in range(6)]
    assert _attempt(attacker, "rider1", PASSWORD, "10.0.0.1") == 429  # the failing address itself waits

    assert _attempt(app.test_client(), "rider1", PASSWORD, "10.2.2.2") == 302  # a fresh address
    assert _attempt(phone, "rider1", PASSWORD, "10.0.0.1") == 302  # the known phone, on the attacker's address
    phone.post("/logout", data={"csrf_token": csrf_from(phone.get("/profile").get_data(as_text=True))})
    # The known phone is held back by its own failures only.
    assert [_attempt(phone, "rider1", "nope", "10.0.0.1") for _ in range(4)] == [400, 400, 400, 429]


def test_a_known_device_cookie_is_signed_and_names_the_account_without_its_user_name(client, app):
    make_user("+8613800001234", password=PASSWORD)
    assert _attempt(client, "+8613800001234", PASSWORD, "10.1.1.1") == 302
    cookie = client.get_cookie("gs_device", path="/login")
    assert cookie is not None and cookie.http_only and "13800001234" not in cookie.value
    forged = app.test_client()
    forged.set_cookie("gs_device", cookie.value[:-2] + "xx", path="/login")
    app.config["LOGIN_ACCOUNT_RATE_LIMIT"] = "1 per hour"
    assert [_attempt(forged, "+8613800001234", "nope", "10.0.0.1") for _ in range(2)] == [400, 429]


def test_deactivated_user_cannot_log_in_or_use_a_token(client, app):
    u = make_user("rider1", password=PASSWORD)
    plain = api_token(u)
    u.active = False
    db.session.commit()
    assert log_in_through_form(client, "rider1").status_code == 400
    r = client.get("/api/v1/reports?mine=1", headers={"Authorization": f"Bearer {plain}"})
    assert r.status_code == 401


def test_bearer_token_authenticates_and_revoked_token_does_not(client, app):
    u = make_user("rider1", password=PASSWORD)
    plain = api_token(u)
    auth = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/reports?mine=1", headers=auth).status_code == 200
    stored = db.session.query(ApiToken).one()
    assert stored.token_hash != plain and plain not in stored.token_hash
    from app.models import utcnow

    stored.revoked_at = utcnow()
    db.session.commit()
    assert client.get("/api/v1/reports?mine=1", headers=auth).status_code == 401


def test_profile_creates_lists_and_revokes_tokens(client, app):
    make_user("rider1", password=PASSWORD)
    log_in_through_form(client, "rider1")
    page = client.get("/profile").get_data(as_text=True)
    r = client.post("/profile/tokens", data={"name": "my script", "csrf_token": csrf_from(page)})
    html = r.get_data(as_text=True)
    plain = re.search(r'id="new-token">([^<]+)<', html).group(1)
    assert client.get("/api/v1/reports?mine=1", headers={"Authorization": f"Bearer {plain}"}).status_code == 200
    tok = db.session.query(ApiToken).one()
    r = client.post(f"/profile/tokens/{tok.id}/revoke", data={"csrf_token": csrf_from(html)})
    assert r.status_code == 302
    assert client.get("/api/v1/reports?mine=1", headers={"Authorization": f"Bearer {plain}"}).status_code == 401


def test_a_rider_cannot_revoke_someone_elses_token(client, app):
    other = make_user("rider2", password=PASSWORD)
    api_token(other)
    make_user("rider1", password=PASSWORD)
    log_in_through_form(client, "rider1")
    page = client.get("/profile").get_data(as_text=True)
    tok = db.session.query(ApiToken).one()
    r = client.post(f"/profile/tokens/{tok.id}/revoke", data={"csrf_token": csrf_from(page)})
    assert r.status_code == 404
    db.session.refresh(tok)
    assert tok.revoked_at is None


def test_logout_needs_a_post_with_csrf(client, app):
    make_user("rider1", password=PASSWORD)
    log_in_through_form(client, "rider1")
    assert client.post("/logout").status_code == 400
    assert client.get("/mine").status_code == 200  # no CSRF token: still logged in
    page = client.get("/profile").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    assert client.get("/mine").status_code == 302


def _remembered_login(client, username="rider1", password=PASSWORD):
    """Log in with "keep me logged in"; the login's two cookies, as someone copying them would have them."""
    page = client.get("/login").get_data(as_text=True)
    r = client.post(
        "/login/password",
        data={"username": username, "password": password, "remember": "y", "csrf_token": csrf_from(page)},
    )
    assert r.status_code == 302
    return client.get_cookie("session").value, client.get_cookie("remember_token").value


def _copies(app, cookies):
    """Two other browsers: one with the copied session cookie, one with the copied remember-me cookie only."""
    session_copy, remember_copy = app.test_client(), app.test_client()
    session_copy.set_cookie("session", cookies[0])
    remember_copy.set_cookie("remember_token", cookies[1])
    return session_copy, remember_copy


def _logged_in(client) -> bool:
    r = client.get("/mine")
    assert r.status_code in (200, 302)
    return r.status_code == 200


def test_logout_ends_that_login_wherever_its_cookies_were_copied(client, app):
    make_user("rider1", password=PASSWORD)
    copies = _copies(app, _remembered_login(client))
    other_phone = app.test_client()
    _remembered_login(other_phone)
    assert all(_logged_in(c) for c in copies)
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/profile").get_data(as_text=True))})
    assert not _logged_in(client)
    assert not any(_logged_in(c) for c in copies)  # the copied session and remember-me cookies are dead too
    assert _logged_in(other_phone)  # another login of the same rider carries on


def test_log_out_everywhere_ends_every_login_of_the_user(client, app):
    make_user("rider1", password=PASSWORD)
    make_user("rider2", password=PASSWORD)
    lost_phone = app.test_client()
    copies = _copies(app, _remembered_login(lost_phone))
    someone_else = app.test_client()
    _remembered_login(someone_else, "rider2")
    _remembered_login(client)
    page = client.get("/profile").get_data(as_text=True)
    assert 'action="/logout/everywhere"' in page
    r = client.post("/logout/everywhere", data={"csrf_token": csrf_from(page)})
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert not any(_logged_in(c) for c in (client, lost_phone, *copies))
    assert _logged_in(someone_else)
    assert log_in_through_form(client, "rider1").status_code == 302 and _logged_in(client)  # the password still works


def test_changing_my_password_ends_my_other_logins_and_keeps_this_one(client, app):
    make_user("rider1", password=PASSWORD)
    lost_phone = app.test_client()
    copies = _copies(app, _remembered_login(lost_phone))
    here = _remembered_login(client)
    page = client.get("/profile").get_data(as_text=True)
    form = {
        "current_password": "not-my-password",
        "password": "a-new-secret-9",
        "confirm": "a-new-secret-9",
        "csrf_token": csrf_from(page),
    }
    r = client.post("/profile/password", data=form)
    assert r.status_code == 400 and "current password is not right" in r.get_data(as_text=True)
    r = client.post("/profile/password", data={**form, "current_password": PASSWORD, "confirm": "different-9"})
    assert r.status_code == 400 and "The passwords differ." in r.get_data(as_text=True)
    assert _logged_in(lost_phone)  # nothing changed yet
    r = client.post(
        "/profile/password", data={**form, "current_password": PASSWORD, "password": "short", "confirm": "short"}
    )
    assert r.status_code == 400
    r = client.post("/profile/password", data={**form, "current_password": PASSWORD})
    assert r.status_code == 302
    assert "1 other login was ended" in client.get("/profile").get_data(as_text=True)
    assert _logged_in(client) and all(_logged_in(c) for c in _copies(app, here))  # this login carries on
    assert not any(_logged_in(c) for c in (lost_phone, *copies))
    fresh = app.test_client()
    assert log_in_through_form(fresh, "rider1").status_code == 400
    assert log_in_through_form(fresh, "rider1", "a-new-secret-9").status_code == 302


def test_cli_creates_users_and_prints_a_working_token_last(runner, client, app):
    r = runner.invoke(
        args=["user", "create", "cli_rider", "--role", "rider", "--password", "long-enough-1", "--team", "犍路先锋"]
    )
    assert r.exit_code == 0, r.output
    u = db.session.query(User).filter_by(username="cli_rider").one()
    assert u.team.name == "犍路先锋"
    r = runner.invoke(args=["token", "create", "cli_rider"])
    assert r.exit_code == 0, r.output
    plain = r.output.strip().splitlines()[-1]
    assert client.get("/api/v1/reports?mine=1", headers={"Authorization": f"Bearer {plain}"}).status_code == 200


def test_cli_refuses_a_short_password(runner, app):
    r = runner.invoke(args=["user", "create", "x", "--password", "short"])
    assert r.exit_code != 0
    assert "8" in r.output


def test_language_follows_accept_language_and_the_switch(client, app):
    r = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en"' in r.get_data(as_text=True)
    r = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-CN"' in r.get_data(as_text=True)
    client.get("/lang/en")
    r = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="en"' in r.get_data(as_text=True)
