"""A developer on a phone reads /api/docs: it fits 360 px, loads nothing from elsewhere, its links work."""

import pytest

pytestmark = pytest.mark.e2e


def test_api_docs_fit_a_phone_and_load_only_local_assets(live, phone):
    elsewhere = []
    phone.on("request", lambda r: None if r.url.startswith(live.url) else elsewhere.append(r.url))
    phone.set_viewport_size({"width": 360, "height": 780})
    assert phone.goto("/api/docs?lang=en").status == 200
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert phone.locator("h1").inner_text().startswith("GridSnap API")
    assert phone.locator("section.api-op").count() >= 10
    phone.locator(".api-toc a", has_text="/reports/{report_id}/transitions").click()
    assert phone.evaluate("location.hash") == "#op-post_reports_report_id_transitions"
    assert phone.locator("#op-post_reports_report_id_transitions").is_visible()
    assert phone.locator("#open311 td", has_text="POST /open311/v2/requests.json").is_visible()
    assert elsewhere == [] and phone.errors == []
