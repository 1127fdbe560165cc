"""Turtle store: each FAIR4ML record as RDF (with PROV-O) under ``DATA_DIR/rdf/<source>/``."""

from __future__ import annotations

from typing import Any

from mlentory_crawl.items.raw import NormalizedItem
from mlentory_crawl.items.rdf import record_to_turtle
from mlentory_crawl.pipelines.base import PartStorePipeline


class TurtleStorePipeline(PartStorePipeline):
    """Appends each record as a framed, self-contained Turtle chunk.

    A part file is a valid Turtle document (prefixes may be repeated in Turtle); it is named
    ``.ttl.partial`` while being written and renamed to ``.ttl`` when complete.
    """

    area = "rdf"
    ext = "ttl"

    async def process_item(self, item: Any) -> Any:
        """Persist normalized records as Turtle; pass everything through unchanged."""
        if isinstance(item, NormalizedItem):
            record = item.record
            body = record_to_turtle(record, self.config.base_iri)
            if self.writer(record.provenance.source).write_turtle(record.id, body):
                self.stats.inc_value("files/rdf/records")
        return item
