"""Helpers shared by the real-data suites: record checks and the report's coverage figures.

Imported by the suites of this folder as ``from realdata_support import …`` (pytest puts the
folder on ``sys.path``, as ``tests/integration`` does for ``stores``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from pydantic import BaseModel
from rdflib import Graph

from mlentory_crawl.items.fair4ml import FAIR4MLRecord
from mlentory_crawl.items.rdf import record_to_turtle


def record_problems(record: FAIR4MLRecord) -> list[str]:
    """Why a record does not validate: missing primary basics, or a failed round trip."""
    problems = []
    primary = record.primary
    if not primary.name or not primary.url or not primary.identifier:
        problems.append("primary lacks name/url/identifier")
    doc = record.to_jsonld()
    doc.pop("@context")
    if FAIR4MLRecord.model_validate(doc) != record:
        problems.append("JSON-LD round trip differs")
    if len(Graph().parse(data=record_to_turtle(record), format="turtle")) == 0:
        problems.append("empty Turtle graph")
    return problems


def field_coverage(cls: type[BaseModel], nodes: Sequence[BaseModel]) -> list[tuple[str, int]]:
    """``(field, nodes where it is set)`` for every field of ``cls`` but ``id`` and ``type``."""
    return [
        (name, sum(getattr(node, name) not in (None, [], "") for node in nodes))
        for name in cls.model_fields
        if name not in ("id", "type")
    ]


def note_counts(records: Iterable[FAIR4MLRecord | None]) -> Counter[str]:
    """How many records carry each data-quality note."""
    return Counter(note for record in records if record for note in record.provenance.notes)
