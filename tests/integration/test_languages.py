"""The compiled catalogs serve the pages: Chinese by default, English when the browser asks for it.

(That every string is translated, with its placeholders, is checked without a database in
tests/unit/test_catalogs.py.)"""


def test_pages_come_in_chinese_by_default_and_english_on_request(client):
    zh = client.get("/login", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    en = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "登录" in zh and "Log in" in en
    # A browser that names no language gets Chinese.
    assert "登录" in client.get("/login", headers={"Accept-Language": ""}).get_data(as_text=True)
