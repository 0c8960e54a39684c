"""A rider signs in on a phone with their number and a code by text message; staff keep the password form."""

import pytest

from tests import factories

pytestmark = pytest.mark.e2e


def test_a_rider_signs_in_with_a_code_by_text_message(live, phone, texts):
    factories.make_user("13800138000", phone="+8613800138000")
    phone.goto("/mine")
    assert "/login" in phone.url and phone.locator("input[name=code]").count() == 0
    assert phone.get_attribute("input[name=phone]", "inputmode") == "tel"
    phone.fill("input[name=phone]", "138 0013 8000")
    phone.click("button[value=send]")
    phone.wait_for_load_state()
    assert phone.locator("#code-sent").is_visible()
    assert phone.get_attribute("input[name=code]", "autocomplete") == "one-time-code"
    phone.fill("input[name=code]", texts[-1][2]["code"])
    phone.press("input[name=code]", "Enter")  # Enter logs in: it does not send another code
    phone.wait_for_load_state()
    assert phone.url.endswith("/mine") and len(texts) == 1
    assert [e for e in phone.errors if not e.startswith("Failed to load resource")] == []


def test_a_wrong_password_is_announced(live, phone):
    phone.goto("/login")
    phone.click('a[href^="/login/password"]')
    phone.fill("input[name=username]", "coord")
    phone.fill("input[name=password]", "wrong-password")
    phone.click("button[type=submit]")
    phone.wait_for_load_state()
    assert phone.locator("[role=alert]").is_visible()
    assert phone.get_attribute("input[name=password]", "aria-invalid") == "true"
