"""Checks shared by the Open311 tests: the JSON Schemas and the spec's XML element names and order."""

import json
import os
from datetime import datetime
from xml.etree import ElementTree

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.conftest import FIXTURES

SCHEMAS = os.path.join(FIXTURES, "open311")


def _load(name: str) -> dict:
    with open(os.path.join(SCHEMAS, name), encoding="utf-8") as fh:
        return json.load(fh)


_REGISTRY = Registry().with_resources(
    (name, Resource.from_contents(_load(name), default_specification=DRAFT202012))
    for name in ("request.json", "requests.json", "service.json", "services.json", "service-definition.json")
)


def validate(schema_name: str, document) -> None:
    """Fail unless the document validates against the named GeoReport v2 schema."""
    validator = Draft202012Validator(
        _load(schema_name), registry=_REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors)
    if schema_name in ("requests.json", "request.json"):
        for item in document if isinstance(document, list) else [document]:
            for key in ("requested_datetime", "updated_datetime", "expected_datetime"):
                if item.get(key) is not None:  # w3 format with an offset, as the spec requires
                    assert datetime.fromisoformat(item[key]).tzinfo is not None, item[key]


# The spec's element names and order (from its example documents).
SERVICE = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
ATTRIBUTE = ["variable", "code", "datatype", "required", "datatype_description", "order", "description", "values"]
REQUEST = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
POSTED = ["service_request_id", "service_notice", "account_id"]
ERROR = ["code", "description"]
DISCOVERY = ["changeset", "contact", "key_service", "endpoints"]
ENDPOINT = ["specification", "url", "changeset", "type", "formats"]


def tags(element) -> list[str]:
    return [child.tag for child in element]


def parse_xml(response) -> ElementTree.Element:
    """The well-formed XML body of a response with the spec's content type and declaration."""
    assert response.content_type == "text/xml; charset=utf-8"
    body = response.get_data()
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ElementTree.fromstring(body)


def check_xml(response, kind: str) -> ElementTree.Element:
    """Parse and check an Open311 XML document of this kind; returns its root."""
    root = parse_xml(response)
    if kind == "services":
        assert root.tag == "services"
        for s in root:
            assert s.tag == "service" and tags(s) == SERVICE
    elif kind == "service_definition":
        assert root.tag == "service_definition" and tags(root) == ["service_code", "attributes"]
        for a in root.find("attributes"):
            assert a.tag == "attribute" and tags(a) == ATTRIBUTE
            for v in a.find("values"):
                assert v.tag == "value" and tags(v) == ["key", "name"]
    elif kind in ("requests", "posted"):
        assert root.tag == "service_requests"
        for r in root:
            assert r.tag == "request" and tags(r) == (REQUEST if kind == "requests" else POSTED)
    elif kind == "errors":
        assert root.tag == "errors" and len(root) >= 1
        for e in root:
            assert e.tag == "error" and tags(e) == ERROR
    elif kind == "discovery":
        assert root.tag == "discovery" and tags(root) == DISCOVERY
        for e in root.find("endpoints"):
            assert e.tag == "endpoint" and tags(e) == ENDPOINT
            assert all(f.tag == "format" for f in e.find("formats"))
    else:
        raise AssertionError(kind)
    return root


def as_text(value) -> str:
    """How a JSON value reads in the XML form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
