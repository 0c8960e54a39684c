"""A coordinator on a phone reads a weekly summary: it fits 360 px, the hotspot map draws, it prints on A4."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests import factories
from tests.e2e.conftest import log_in_page, offline_tiles

pytestmark = pytest.mark.e2e

SH = ZoneInfo("Asia/Shanghai")


def test_week_page_fits_a_phone_draws_hotspots_and_prints(live, phone):
    factories.make_user("coord", role="coordinator", password=factories.PASSWORD)
    rider = factories.make_user("rider1", team="犍路先锋")
    # two clusters ~1 km apart (3 and 2 reports) in 2025-W10, one of them resolved
    for i, (lat, lon) in enumerate(
        [(29.2089, 103.9512), (29.2090, 103.9513), (29.2091, 103.9511), (29.2189, 103.9512), (29.2190, 103.9513)]
    ):
        r = factories.report_row(
            rider, "illegal_parking" if i % 2 else "garbage", datetime(2025, 3, 3 + i, 9, tzinfo=SH), lat=lat, lon=lon
        )
        if i == 0:
            factories.history(
                r,
                [
                    ("accepted", datetime(2025, 3, 3, 10, tzinfo=SH)),
                    ("assigned", datetime(2025, 3, 3, 11, tzinfo=SH)),
                    ("resolved", datetime(2025, 3, 4, 10, tzinfo=SH)),
                ],
            )
    offline_tiles(phone)
    phone.set_viewport_size({"width": 360, "height": 780})
    log_in_page(phone, "coord", factories.PASSWORD)

    assert phone.goto("/summaries/").status == 200
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert phone.goto("/summaries/2025-W10?lang=en").status == 200
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert phone.locator("#fig-received .figure-value").inner_text() == "5"
    phone.wait_for_selector("#hotspot-map path.leaflet-interactive")
    assert phone.locator("#hotspot-map path.leaflet-interactive").count() == 2
    assert phone.locator("svg.chart").count() == 3
    assert phone.locator(".summary-nav a").first.bounding_box()["height"] >= 44

    phone.emulate_media(media="print")
    assert phone.locator(".summary-nav").is_hidden()  # the print stylesheet drops the buttons
    pdf_ready = phone.evaluate("getComputedStyle(document.querySelector('.cards')).gridTemplateColumns")
    assert len(pdf_ready.split()) == 5  # five headline cards to a row on paper
    assert [e for e in phone.errors if not e.startswith("Failed to load resource")] == []


def test_a_published_week_its_recompute_and_the_trends_on_a_phone(live, phone):
    from app.extensions import db
    from app.summaries import archive

    factories.make_user("coord", role="coordinator", password=factories.PASSWORD)
    rider = factories.make_user("rider1", team="犍路先锋")
    for week, day in (("2025-W09", 24), ("2025-W10", 3)):
        month = 2 if week == "2025-W09" else 3
        for i in range(3 if week == "2025-W10" else 2):
            factories.report_row(rider, "garbage", datetime(2025, month, day + i, 9, tzinfo=SH))
        archive.publish(week)
    db.session.commit()
    offline_tiles(phone)
    phone.set_viewport_size({"width": 360, "height": 780})
    log_in_page(phone, "coord", factories.PASSWORD)

    assert phone.goto("/summaries/2025-W10?lang=en").status == 200
    assert phone.locator("#published-badge").is_visible()
    assert phone.locator("#fig-received .figure-value").inner_text() == "3"
    assert phone.locator("#fig-received svg.sparkline polyline").count() == 1
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert phone.locator("#recompute").bounding_box()["height"] >= 44
    phone.locator("#recompute").click()
    phone.wait_for_selector("#compare-headline")
    assert phone.locator("#difference-count").is_visible()
    assert phone.locator("table.compare td.differs").count() == 0  # nothing changed since publication
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    assert phone.goto("/summaries/trends?from=2025-W08&to=2025-W10&by=category&lang=en").status == 200
    assert phone.locator("#trend-chart polyline").count() == 1  # garbage, W09..W10 (W08 is a gap)
    assert phone.locator("#missing-weeks").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert phone.locator(".trend-form select").first.bounding_box()["height"] >= 44
    assert [e for e in phone.errors if not e.startswith("Failed to load resource")] == []
