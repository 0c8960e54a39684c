"""In the browser: names from admins and grid files stay text in map popups, and the Content-Security-Policy
(no inline script) leaves the pages working: the hotspot map, the invite sheet's print button."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Category
from app.teams import services as teams
from tests import factories
from tests.e2e.conftest import log_in_page, offline_tiles

pytestmark = pytest.mark.e2e

SH = ZoneInfo("Asia/Shanghai")
MARKUP = '<img src="x" id="injected"><b id="bold">bold</b>'


def test_hotspot_popup_shows_a_category_name_as_text_and_the_invite_prints(live, phone):
    cat = db.session.scalar(select(Category).where(Category.code == "garbage"))
    cat.name_en = cat.name_zh = MARKUP
    db.session.commit()
    coord = factories.make_user("coord", role="coordinator", password=factories.PASSWORD)
    rider = factories.make_user("rider1")
    for day, (lat, lon) in enumerate([(29.2089, 103.9512), (29.2090, 103.9513)]):
        factories.report_row(rider, "garbage", datetime(2025, 3, 3 + day, 9, tzinfo=SH), lat=lat, lon=lon)
    team = teams.save_team(None, coord, name="犍路先锋", slogan="", requires_approval=False)
    invite_id = teams.create_invite(team, coord, 7).id
    db.session.commit()
    offline_tiles(phone)
    log_in_page(phone, "coord", factories.PASSWORD)

    response = phone.goto("/summaries/2025-W10?lang=en")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    phone.wait_for_selector("#hotspot-map path.leaflet-interactive")
    phone.locator("#hotspot-map path.leaflet-interactive").first.click(force=True)
    popup = phone.wait_for_selector("#hotspot-map .leaflet-popup-content")
    assert MARKUP in popup.inner_text()
    assert phone.locator("#injected, #bold").count() == 0

    phone.goto(f"/teams/invites/{invite_id}")
    button = phone.locator("button[data-print]")
    assert button.get_attribute("onclick") is None
    phone.evaluate("window.print = function () { window.printed = true; }")
    button.click()
    assert phone.evaluate("window.printed") is True
    # pages with scripts of their own under the same policy: a violation would be a console error (the
    # other coordinator pages are swept the same way by test_page_sweep.py)
    for path in ("/api/docs", "/board?view=map&status=submitted"):
        assert phone.goto(path).status == 200, path
    phone.wait_for_selector('#board-map[data-count="2"]')  # the map's script and its XHR ran
    assert [e for e in phone.errors if not e.startswith("Failed to load resource")] == []
