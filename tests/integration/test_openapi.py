"""The OpenAPI document of /api/v1: complete, readable at /api/docs, and true (a schemathesis run)."""

import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from app.api.openapi import OPERATIONS, openapi_path
from app.extensions import db
from tests import factories as f

EXAMPLES_PER_STRATEGY = 6
# A bound on the fuzzing run per database backend, not an assertion: past it, every operation still
# gets its random inputs, but the extra strategies aimed at existing reports are skipped.
BUDGET_SECONDS = 15


def test_every_api_v1_route_is_in_the_document(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                path = openapi_path(rule.rule)
                if method.lower() not in doc["paths"].get(path, {}):
                    missing.append(f"{method} {rule.rule}")
    assert not missing, "add these to app/api/openapi.py OPERATIONS: " + ", ".join(missing)


def test_document_only_lists_routes_that_exist(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    served = {
        (openapi_path(r.rule), m.lower())
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/api/v1/")
        for m in r.methods
    }
    listed = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    assert listed <= served
    assert listed == {(p, m) for p, ops in OPERATIONS.items() for m in ops} & served


def test_document_is_a_valid_openapi_3_document(client):
    from openapi_spec_validator import validate as validate_spec

    validate_spec(client.get("/api/v1/openapi.json").get_json())


def test_document_describes_the_error_shape_and_authentication(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert doc["components"]["schemas"]["Error"]["properties"]["error"]["required"] == ["code", "message"]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if op.get("security") != []:
                assert "401" in op["responses"], f"{method} {path} must document 401"


def test_docs_page_shows_every_operation_without_external_assets(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for path, ops in doc["paths"].items():
        assert f"/api/v1{path}" in html
        for op in ops.values():
            assert f'id="op-{op["operationId"]}"' in html
    assert "cdn" not in html.lower() and "https://unpkg" not in html
    assert "<code>Authorization: Bearer ...</code>" in html and "`" not in html  # descriptions' code marks
    assert 'id="open311"' in html and "/open311/v2/requests/{service_request_id}.json" in html


@pytest.fixture
def seeded(app):
    """A coordinator's Bearer token and a few reports, a team and a grid for the run to find."""
    import json

    from app.grids.services import import_grids

    square = [[103.94, 29.20], [103.96, 29.20], [103.96, 29.24], [103.94, 29.24], [103.94, 29.20]]
    import_grids(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"code": "QW-01", "name": "Yujin"},
                        "geometry": {"type": "Polygon", "coordinates": [square]},
                    }
                ],
            }
        )
    )
    db.session.commit()
    rider = f.make_user("rider1", team="Qianwei Riders")
    reports = [f.file_report(rider, category=c) for c in ("road_damage", "illegal_parking", "road_damage")]
    coordinator = f.make_user("coord1", role="coordinator")
    # identity: the WSGI transport hands schemathesis the raw body, and the app compresses responses
    return (
        {"Authorization": f"Bearer {f.api_token(coordinator)}", "Accept-Encoding": "identity"},
        [r.id for r in reports],
    )


def strategies(operation, report_ids):
    """Random inputs, plus inputs aimed at existing reports (random ids are nearly always 404)."""
    yield operation.as_strategy()
    if "{report_id}" in operation.path:
        for report_id in report_ids[:2]:
            yield operation.as_strategy(path_parameters={"report_id": report_id})
    if operation.path == "/reports/nearby":
        yield operation.as_strategy(query={"category": "road_damage"})


def test_schemathesis_finds_no_server_error_and_no_schema_violation(app, client, seeded):
    headers, report_ids = seeded
    schema = schemathesis.openapi.from_dict(client.get("/api/v1/openapi.json").get_json())
    schema.app = app  # requests go through the WSGI app
    checks = [
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
    ]
    failures, statuses = [], Counter()
    deadline = time.monotonic() + BUDGET_SECONDS
    for result in schema.get_all_operations():
        operation = result.ok()
        for n, strategy in enumerate(strategies(operation, report_ids)):
            if n and time.monotonic() > deadline:
                break

            @settings(
                max_examples=EXAMPLES_PER_STRATEGY,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def run(case):
                try:
                    response = case.call_and_validate(headers=headers, checks=checks)
                    statuses[response.status_code // 100] += 1
                except (AssertionError, FailureGroup) as err:
                    failures.append(f"{case.method} {case.formatted_path} {case.query or ''}: {err}"[:1500])
                finally:
                    db.session.rollback()

            try:
                run()
            except Unsatisfiable:
                pass
    assert statuses[2] > 0 and statuses[4] > 0  # the run reached both answers and refusals
    assert not failures, "\n".join(failures[:20])
