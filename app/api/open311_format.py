"""Open311 documents as JSON or XML: the same plain dicts, element names and order as the spec."""

import json
import re
from xml.etree.ElementTree import Element, SubElement, tostring

from flask import Response

# Characters XML 1.0 cannot carry at all; dropped so every document stays well-formed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# How a JSON list is wrapped in XML: list key -> (container, item) element names.
ROOTS = {
    "services": ("services", "service"),
    "requests": ("service_requests", "request"),
    "errors": ("errors", "error"),
    "updates": ("service_request_updates", "request_update"),  # mySociety's updates extension
}
# Lists nested inside an item: key -> item element name.
NESTED = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(parent: Element, data: dict) -> None:
    for key, value in data.items():
        if isinstance(value, list):
            holder = SubElement(parent, key)
            for item in value:
                child = SubElement(holder, NESTED[key])
                if isinstance(item, dict):
                    _fill(child, item)
                else:
                    child.text = _text(item)
        elif isinstance(value, dict):
            _fill(SubElement(parent, key), value)
        else:
            SubElement(parent, key).text = _text(value)


def to_xml(kind: str, data) -> bytes:
    """A UTF-8 XML document: a list under its ROOTS names, or a dict under the root element `kind`."""
    if isinstance(data, list):
        container, item = ROOTS[kind]
        root = Element(container)
        for entry in data:
            _fill(SubElement(root, item), entry)
    else:
        root = Element(kind)
        _fill(root, data)
    # A bare CR in text would reach the reader as LF (XML end-of-line handling); the reference keeps it, as JSON does.
    body = tostring(root, encoding="unicode").replace("\r", "&#13;")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode("utf-8")


def render(kind: str, data, fmt: str, status: int = 200) -> Response:
    """The response in the requested format with the spec's content types."""
    if fmt == "json":
        return Response(
            json.dumps(data, ensure_ascii=False), status=status, content_type="application/json; charset=utf-8"
        )
    return Response(to_xml(kind, data), status=status, content_type="text/xml; charset=utf-8")
