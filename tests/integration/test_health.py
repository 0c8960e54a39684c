from tests.factories import PASSWORD, log_in_through_form, make_user


def test_healthz_ok_when_database_reachable(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok"}


def test_healthz_503_when_database_unreachable(app, tmp_path):
    from app import create_app

    broken = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "UPLOAD_DIR": str(tmp_path),
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody:x@127.0.0.1:1/none",
        }
    )
    r = broken.test_client().get("/healthz")
    assert r.status_code == 503


def test_login_and_land_on_report_page(client, app):
    make_user("rider1", password=PASSWORD)
    r = log_in_through_form(client, "rider1")
    assert r.status_code == 302 and r.headers["Location"].endswith("/report")
    assert client.get("/report").status_code == 200
