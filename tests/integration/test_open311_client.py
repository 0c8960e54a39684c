"""A real Open311 client (PyPI georeport) reads GridSnap from a live server, in JSON and XML."""

import threading

import pytest
from georeport import GeoReport
from werkzeug.serving import make_server

from app.extensions import db
from app.models import utcnow
from tests import factories as f


@pytest.fixture
def live_v2(app, monkeypatch):
    """The app served on a free local port in a thread; yields the GeoReport v2 root URL."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/open311/v2"
    server.shutdown()
    thread.join(5)


def as_list(value):
    """xmltodict gives one child as a dict and several as a list."""
    return value if isinstance(value, list) else [value]


@pytest.fixture
def reports(app):
    rider = f.make_user("rider1")
    road = f.file_report(rider, category="road_damage", description="Pothole by the school")
    lift = f.file_report(rider, category="elevator_hazard", description="Lift stuck between floors")
    lift.status = "closed"
    lift.outcome = "fixed"
    db.session.commit()
    return road, lift


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_client_reads_services_definition_and_requests(live_v2, reports, fmt):
    road, lift = reports
    client = GeoReport(live_v2, output_format=fmt)

    services = as_list(client.get_service_list())
    codes = [s["service_code"] for s in services]
    assert "road_damage" in codes and "elevator_hazard" in codes
    assert all(str(s["metadata"]).lower() == "true" for s in services)

    definition = client.get_service_definition("elevator_hazard")
    assert definition["service_code"] == "elevator_hazard"
    attributes = definition["attributes"] if fmt == "json" else as_list(definition["attributes"]["attribute"])
    danger = next(a for a in attributes if a["code"] == "danger")
    values = danger["values"] if fmt == "json" else as_list(danger["values"]["value"])
    assert [v["key"] for v in values] == ["yes", "no", "unknown"]

    everything = as_list(client.get_service_requests())
    assert {r["service_request_id"] for r in everything} == {road.reference, lift.reference}
    open_only = as_list(client.get_service_requests(status="open"))
    assert [r["service_request_id"] for r in open_only] == [road.reference]
    by_code = as_list(client.get_service_requests(service_code="elevator_hazard", status="closed"))
    assert [r["service_request_id"] for r in by_code] == [lift.reference]
    today = utcnow().strftime("%Y-%m-%dT00:00:00Z")
    dated = as_list(client.get_service_requests(start_date=today))
    assert len(dated) == 2
    by_id = as_list(client.get_service_requests(service_request_id=road.reference))
    assert [r["service_request_id"] for r in by_id] == [road.reference]

    one = client.get_service_request(lift.reference)
    assert one["service_request_id"] == lift.reference and one["status"] == "closed"
    assert one["service_code"] == "elevator_hazard"
    assert float(one["lat"]) == pytest.approx(f.QIANWEI[0])
