"""OpenML XML → the JSON shape the OpenML JSON API would have sent (its ``xmlToArray`` rules).

Some ``/api/v1/json/...`` endpoints have been seen answering XML (openml/OpenML#1200), and the
only recorded run and task documents are XML. Converting them with the server's own rules
lets one normalizer read both: namespace prefixes dropped, attributes become plain keys, an
element with only text becomes a string (an empty one ``[]``), text beside attributes goes
under ``value``, and a repeated child becomes a list (a single one stays a scalar/object).

Hostile input is refused, never expanded: documents with a DTD or entity declarations are
rejected before parsing, and so are oversized bodies. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree

MAX_XML_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


class XMLConversionError(ValueError):
    """The body is not XML we are willing to convert (reason in the message)."""


def looks_like_xml(body: bytes | str) -> bool:
    """True when a body starts like an XML document rather than JSON."""
    head = body[:64].lstrip() if isinstance(body, bytes) else body[:64].lstrip().encode()
    return head.startswith(b"<")


def xml_to_array(body: bytes | str) -> dict[str, Any]:
    """Convert an OpenML XML document into ``{root_name: converted}``.

    Raises:
        XMLConversionError: too large, DTD/entity declarations, malformed or too deep.
    """
    data = body.encode("utf-8") if isinstance(body, str) else body
    if len(data) > MAX_XML_BYTES:
        raise XMLConversionError(f"XML body of {len(data)} bytes exceeds {MAX_XML_BYTES}")
    if _DTD.search(data):
        raise XMLConversionError("XML with a DTD or entity declaration refused")
    try:
        root = ElementTree.fromstring(data)  # noqa: S314 - DTD/entities refused above
    except ElementTree.ParseError as exc:
        raise XMLConversionError(f"malformed XML: {exc}") from exc
    return {_local(root.tag): _convert(root, 0)}


def _local(tag: str) -> str:
    """``{namespace}name`` or ``prefix:name`` → ``name``."""
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _convert(element: ElementTree.Element, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise XMLConversionError(f"XML nested deeper than {MAX_DEPTH} levels")
    children = list(element)
    body = (element.text or "").strip()
    attributes = {_local(k): v for k, v in element.attrib.items()}
    if not children:
        if not attributes:
            return body if body else []
        if body:
            attributes["value"] = body
        return attributes
    out: dict[str, Any] = dict(attributes)
    repeated: set[str] = set()
    for child in children:
        name = _local(child.tag)
        value = _convert(child, depth + 1)
        if name in repeated:
            out[name].append(value)
        elif name in out:
            out[name] = [out[name], value]
            repeated.add(name)
        else:
            out[name] = value
    return out
