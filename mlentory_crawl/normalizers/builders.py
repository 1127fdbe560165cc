"""Helpers that add nodes to a :class:`RecordBuilder`: shared nodes and the primary's draft.

:func:`license_node` turns a free-text licence into its SPDX (or named) licence node;
:class:`RecordDraft` collects the primary node's properties while a normalizer walks a payload.
Pure, no I/O; coercion helpers are in :mod:`.common`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mlentory_crawl.items.builder import RecordBuilder
from mlentory_crawl.items.fair4ml import CreativeWork, Node
from mlentory_crawl.licenses import resolve_license
from mlentory_crawl.normalizers.common import MAX_TEXT, parse_datetime, safe_iri, truncate, unique


def license_node(builder: RecordBuilder, licence: str, source: str) -> list[str]:
    """The licence node of a free-text licence (SPDX when it resolves, else a named one).

    Notes ``field/license/unknown`` (nothing usable; no node) or ``field/license/non_spdx``.

    Returns:
        ``[licence IRI]``, or ``[]`` when the text names no licence.
    """
    ref = resolve_license(licence, source=source, base=builder.minter.base)
    if ref is None:
        builder.note("field/license/unknown")
        return []
    builder.add(
        CreativeWork(
            id=ref.iri,
            name=ref.name,
            url=safe_iri(ref.url),
            identifier=[ref.spdx] if ref.spdx else [],
        )
    )
    if ref.spdx is None:
        builder.note("field/license/non_spdx")
    return [ref.iri]


class RecordDraft:
    """Collects the primary node's properties while a normalizer walks a payload.

    List properties are appended to without duplicates, referenced nodes go to the
    :class:`RecordBuilder`, and wrongly typed input becomes a data-quality note
    (``field/<key>/invalid``) instead of an exception. Build the node at the end with
    ``MLModel(**draft.props)`` so that pydantic validates every value once.
    """

    def __init__(self, builder: RecordBuilder, iri: str) -> None:
        self.builder = builder
        self.iri = iri
        self.props: dict[str, Any] = {"id": iri}

    def add(self, prop: str, *values: Any) -> None:
        """Append values to a list property (``None`` and duplicates skipped)."""
        bucket = self.props.setdefault(prop, [])
        bucket.extend(v for v in unique(values) if v not in bucket)

    def node(self, node: Node) -> str | None:
        """Add a referenced node and return its IRI; a node reusing the primary IRI is refused."""
        if node.id == self.iri:
            self.note("field/self-reference")
            return None
        self.builder.add(node)
        return node.id

    def note(self, message: str) -> None:
        """Record a data-quality note."""
        self.builder.note(message)

    def text(self, prop: str, value: str | None, limit: int = MAX_TEXT) -> None:
        """Set a text property, cut to ``limit`` characters (noted ``field/<prop>/truncated``)."""
        cut, truncated = truncate(value, limit)
        if truncated:
            self.note(f"field/{prop}/truncated")
        if cut:
            self.props[prop] = cut

    def typed(self, source: dict[str, Any], key: str, types: tuple[type, ...]) -> Any:
        """``source[key]`` if one of ``types`` (bool never counts); else noted and ``None``."""
        value = source.get(key)
        if value is None or (isinstance(value, types) and not isinstance(value, bool)):
            return value
        self.note(f"field/{key}/invalid")
        return None

    def text_field(self, key: str, *sources: dict[str, Any]) -> str | None:
        """The first non-empty string ``key`` of ``sources``; non-string values are noted."""
        for source in sources:
            value = source.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
            if value is not None and not isinstance(value, str):
                self.note(f"field/{key}/invalid")
        return None

    def date(self, source: dict[str, Any], key: str) -> datetime | None:
        """``source[key]`` as a UTC datetime; an unparseable value is noted."""
        value = source.get(key)
        parsed = parse_datetime(value)
        if parsed is None and value is not None:
            self.note(f"field/{key}/invalid")
        return parsed
