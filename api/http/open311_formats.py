"""Open311's two formats: JSON, and XML (the spec's default), each with its charset; errors in the format
the client asked for."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from flask import Response, json, request

from core.errors import Invalid

FORMATS = {"json": "application/json", "xml": "text/xml"}


def format_of(fmt: str) -> str:
    """The requested format, or a 400 naming the two the spec defines."""
    if fmt not in FORMATS:
        raise Invalid(f"format {fmt!r} is not supported: use .xml or .json")
    return fmt


def _asked() -> str:
    fmt = (request.view_args or {}).get("fmt")
    return fmt if fmt in FORMATS else "json"


def answer(payload: Any, root: str, item: str | None, status: int = 200) -> Response:
    """``payload`` in the asked format: a list becomes ``<root><item>…</item></root>`` in XML, a mapping
    ``<root>…</root>``."""
    fmt = _asked()
    if fmt == "json":
        body = json.dumps(payload, ensure_ascii=False)
    else:
        element = ET.Element(root)
        for entry in payload if isinstance(payload, list) else [payload]:
            _fill(ET.SubElement(element, item) if item else element, entry)
        body = '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(element, encoding="unicode")
    return Response(body, status=status, content_type=f"{FORMATS[fmt]}; charset=utf-8")


def _fill(element: ET.Element, value: Any) -> None:
    """Write ``value`` into ``element``: mappings as child elements, lists as repeated singular children
    (``endpoints`` → ``endpoint``), None as an empty element, booleans as ``true``/``false``."""
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        name = element.tag[:-1] if element.tag.endswith("s") else f"{element.tag}_item"
        for child in value:
            _fill(ET.SubElement(element, name), child)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)
