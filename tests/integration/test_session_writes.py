"""Rough edge 1 of issue 19: the language switch is not lost to the responses of requests that were already
under way (static files, the service worker's background requests): those never write the session, a
request writes it back only when it changed it, and the language has its own cookie."""

from tests import factories as f


def logged_in_remembered(client):
    f.make_user("rider", password=f.PASSWORD)
    html = client.get("/login/password").get_data(as_text=True)
    r = client.post(
        "/login/password",
        data={"csrf_token": f.csrf_from(html), "username": "rider", "password": f.PASSWORD, "remember": "y"},
    )
    assert r.status_code == 302
    return client


def session_cookies(response):
    return [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]


def test_static_files_and_the_service_worker_never_send_the_session_cookie(app, client):
    logged_in_remembered(client)
    for path in ("/static/css/app.css", "/static/js/app.js", "/sw.js", "/manifest.webmanifest"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert session_cookies(r) == [], path


def test_a_request_that_does_not_change_the_session_does_not_write_it(app, client):
    logged_in_remembered(client)
    client.get("/mine")  # the first page may store the CSRF token
    for path in ("/mine", "/api/v1/notifications/count", "/report"):
        assert session_cookies(client.get(path)) == [], path


def test_the_language_switch_survives_a_stale_cookie_sent_by_a_request_under_way(app, client):
    logged_in_remembered(client)
    client.get("/mine")
    stale = client.get_cookie("session").value  # what a request started before the switch carries
    r = client.get("/lang/en")
    assert any(c.startswith("gs_lang=en") for c in r.headers.getlist("Set-Cookie"))
    # a late response to a request sent with the old cookie writes nothing back ...
    client.set_cookie("session", stale)
    assert session_cookies(client.get("/static/js/app.js")) == []
    assert session_cookies(client.get("/api/v1/notifications/count")) == []
    # ... and even the old session cookie cannot undo the switch: the language has its own cookie
    html = client.get("/mine", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="en"' in html
