"""An admin on a phone: every admin page fits 390 px without sideways scrolling; the grid map draws the grids."""

import pytest

from app import models as _models  # noqa: F401  (every table first: app.grids imports app.admin)
from app.extensions import db
from app.grids import services as grids
from tests import factories
from tests.e2e.conftest import log_in_page, offline_tiles

pytestmark = pytest.mark.e2e

PAGES = [
    "/admin/",
    "/admin/users",
    "/admin/users/new",
    "/admin/categories",
    "/admin/categories/new",
    "/admin/departments",
    "/admin/grids",
    "/admin/teams",
    "/admin/templates",
    "/admin/templates/new",
    "/admin/audit",
]
SQUARE = [[103.94, 29.20], [103.95, 29.20], [103.95, 29.22], [103.94, 29.22], [103.94, 29.20]]
EAST = [[103.95, 29.20], [103.96, 29.20], [103.96, 29.22], [103.95, 29.22], [103.95, 29.20]]


def test_admin_pages_fit_a_phone_and_the_grid_map_draws_every_grid(live, phone):
    factories.make_user("boss", role="admin", password=factories.PASSWORD, display_name="管理员")
    grids.import_grids(
        '{{"type": "FeatureCollection", "features": [{}, {}]}}'.format(
            *tuple(
                f'{{"type": "Feature", "properties": {{"code": "{code}", "name": "网格"}}, '
                f'"geometry": {{"type": "Polygon", "coordinates": [{ring}]}}}}'
                for code, ring in (("Q-01", SQUARE), ("Q-02", EAST))
            )
        )
    )
    db.session.commit()
    offline_tiles(phone)
    log_in_page(phone, "boss", factories.PASSWORD)
    for path in PAGES:
        response = phone.goto(path)
        assert response.status == 200, path
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
    phone.goto("/admin/grids")
    phone.wait_for_selector("#grid-map path.leaflet-interactive")
    assert phone.locator("#grid-map path.leaflet-interactive").count() == 2
    menu_link = phone.locator(".admin-menu a").first.bounding_box()
    assert menu_link["height"] >= 44
    assert [e for e in phone.errors if not e.startswith("Failed to load resource")] == []
